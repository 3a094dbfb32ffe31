namespace VirtFleet.Shell;

/// <summary>Finds the VirtFleet module: VIRTFLEET_MODULE, the build output next to vfsh, or PSModulePath.</summary>
internal static class ModuleLocator
{
    public static string Find()
    {
        var env = Environment.GetEnvironmentVariable("VIRTFLEET_MODULE");
        if (!string.IsNullOrEmpty(env)) return env;
        var baseDir = AppContext.BaseDirectory;
        foreach (var candidate in new[]
                 {
                     Path.Combine(baseDir, "..", "VirtFleet", "VirtFleet.psd1"),
                     Path.Combine(baseDir, "VirtFleet", "VirtFleet.psd1"),
                 })
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        return "VirtFleet";
    }
}
