using System.Management.Automation;
using VirtFleet.Libvirt;

namespace VirtFleet.Cmdlets;

/// <summary>The module's OS profiles, with the user's override file laid over them when it exists.</summary>
internal static class TemplatePaths
{
    public static string ModuleProfiles =>
        Path.Combine(Path.GetDirectoryName(typeof(TemplatePaths).Assembly.Location)!, "templates", "os-profiles.yml");

    public static string UserProfiles => UserPaths.OsProfiles;

    public static OsProfileCatalog LoadProfiles(PSCmdlet _) =>
        OsProfileCatalog.Load(ModuleProfiles, File.Exists(UserProfiles) ? UserProfiles : null);
}
