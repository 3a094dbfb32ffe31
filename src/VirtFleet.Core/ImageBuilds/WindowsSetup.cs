namespace VirtFleet.ImageBuilds;

/// <summary>
/// An unattended Windows install that New-VfImageBuild generates (Windows.AnswerFile): cloudbase-init's MSI (a local file) goes
/// on a CD of its own, cached on the host like the ISOs; the answer file, which holds the build's one-off administrator
/// password, goes on the build's own answer CD and is removed with the build.
/// </summary>
public sealed record WindowsSetup(string CloudbaseInitMsi, string? ProductKey = null, string Locale = "en-US", int? ImageIndex = null)
{
    /// <summary>What a build with a generated answer file declares its image carries (Windows.ImageRequirements).</summary>
    public static readonly IReadOnlyList<string> Features = ["rdp", "icmp", "cloudbase-init", "sysprep"];

    /// <summary>The MSI's name on its CD (the answer file's commands look for this name on every drive).</summary>
    public const string MsiName = "CloudbaseInitSetup.msi";
}
