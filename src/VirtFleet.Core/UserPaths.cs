namespace VirtFleet;

/// <summary>
/// Every path VirtFleet uses on the admin machine, in one place, by the platform's conventions: on Windows the
/// roaming config folder (%APPDATA%\VirtFleet) and the local application data folder for the image cache; on Linux
/// and macOS $XDG_CONFIG_HOME/virtfleet (else ~/.config/virtfleet) and ~/.local/share/VirtFleet ($XDG_DATA_HOME).
/// SSH files are where OpenSSH keeps them on every platform (~/.ssh, %USERPROFILE%\.ssh on Windows).
/// Each path an environment variable can override says which.
/// </summary>
public static class UserPaths
{
    public const string InventoryVariable = "VIRTFLEET_INVENTORY";
    public const string KeyPairsVariable = "VIRTFLEET_KEYPAIRS";
    public const string ImageCacheVariable = "VIRTFLEET_IMAGE_CACHE";
    public const string LabStateVariable = "VFLAB_STATE_DIR";
    public const string GuestCacheVariable = "VF_GUEST_CACHE";

    /// <summary>The user's home folder.</summary>
    public static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>
    /// VirtFleet's config folder: %APPDATA%\VirtFleet on Windows; $XDG_CONFIG_HOME/virtfleet, else ~/.config/virtfleet.
    /// The folder of $env:VIRTFLEET_INVENTORY when that names the inventory, so the files beside it go with it.
    /// </summary>
    public static string ConfigFolder => Path.GetDirectoryName(Inventory)!;

    static string DefaultConfigFolder =>
        OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify), "VirtFleet")
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Home, ".config"),
                "virtfleet");

    /// <summary>The inventory file: $env:VIRTFLEET_INVENTORY, else inventory.yml in the config folder.</summary>
    public static string Inventory =>
        Environment.GetEnvironmentVariable(InventoryVariable) is { Length: > 0 } env ? env : Path.Combine(DefaultConfigFolder, "inventory.yml");

    /// <summary>Key pairs (NAME.pub, and NAME for keys made here): $env:VIRTFLEET_KEYPAIRS, else keypairs in the config folder.</summary>
    public static string KeyPairs =>
        Environment.GetEnvironmentVariable(KeyPairsVariable) is { Length: > 0 } d ? d : Path.Combine(ConfigFolder, "keypairs");

    /// <summary>The user's instance types (added to and overriding the built-in ones).</summary>
    public static string InstanceTypes => Path.Combine(ConfigFolder, "instance-types.yml");

    /// <summary>The user's OS profiles, laid over the module's templates/os-profiles.yml.</summary>
    public static string OsProfiles => Path.Combine(ConfigFolder, "os-profiles.yml");

    /// <summary>
    /// Imported images kept so any host can be given one later: $env:VIRTFLEET_IMAGE_CACHE, else VirtFleet/images in the local
    /// application data folder, also when that folder does not exist yet (GetFolderPath would answer "" and put the cache at /VirtFleet).
    /// </summary>
    public static string ImageCache =>
        Environment.GetEnvironmentVariable(ImageCacheVariable) is { Length: > 0 } d ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "VirtFleet", "images");

    /// <summary>The user's OpenSSH folder.</summary>
    public static string Ssh => Path.Combine(Home, ".ssh");

    /// <summary>The known_hosts file host keys are checked against unless the inventory names another.</summary>
    public static string KnownHosts => Path.Combine(Ssh, "known_hosts");

    /// <summary>The private keys tried, in this order, for a host without a KeyFile (those that exist).</summary>
    public static IEnumerable<string> DefaultKeyFiles =>
        new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(n => Path.Combine(Ssh, n)).Where(File.Exists);

    /// <summary>The lab's state, keys and inventory (Linux, root): $env:VFLAB_STATE_DIR, else /var/lib/virtfleet-lab.</summary>
    public static string LabState =>
        Environment.GetEnvironmentVariable(LabStateVariable) is { Length: > 0 } d ? d : "/var/lib/virtfleet-lab";

    /// <summary>The lab's built guest images: $env:VF_GUEST_CACHE, else /var/cache/virtfleet/guests.</summary>
    public static string GuestCache =>
        Environment.GetEnvironmentVariable(GuestCacheVariable) is { Length: > 0 } d ? d : "/var/cache/virtfleet/guests";

    /// <summary>A user's path with a leading ~ (~, ~/x, ~\x) taken as the home folder; any other path as given.</summary>
    public static string ExpandHome(string path) =>
        path == "~" ? Home
        : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(Home, path[2..])
        : path;
}
