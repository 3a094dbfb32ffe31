using VirtFleet.Model;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace VirtFleet.Inventory;

/// <summary>
/// The readable YAML file listing the fleet's hosts. Default location follows the platform:
/// %APPDATA%\VirtFleet\inventory.yml on Windows, $XDG_CONFIG_HOME or ~/.config/virtfleet on
/// Linux and macOS; VIRTFLEET_INVENTORY overrides it.
/// </summary>
public sealed class HostInventory
{
    public const string EnvironmentVariable = "VIRTFLEET_INVENTORY";

    /// <summary>known_hosts file used to verify host keys; null = the user's ~/.ssh/known_hosts.</summary>
    public string? KnownHosts { get; set; }
    /// <summary>Key exchange algorithms in order of preference (comma-separated); null = VirtFleet's default.</summary>
    public string? KeyExchange { get; set; }
    /// <summary>The network New-VfInstance gives an instance without -Network (a VirtFleet or libvirt network); null = VirtFleet's own (vfdefault).</summary>
    public string? DefaultNetwork { get; set; }
    /// <summary>The subnet VirtFleet gives the default network it makes (vfdefault); null = the first free 10.254.N.0/24.</summary>
    public string? DefaultNetworkSubnet { get; set; }
    public List<HostEntry> Hosts { get; set; } = [];

    [YamlIgnore] public string Path { get; private set; } = "";

    public static string DefaultPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) return env;
            var root = OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData)
                : Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
                    ? xdg
                    : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            return System.IO.Path.Combine(root, OperatingSystem.IsWindows() ? "VirtFleet" : "virtfleet", "inventory.yml");
        }
    }

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
    private static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull | DefaultValuesHandling.OmitEmptyCollections)
        .Build();

    /// <summary>Loads the inventory; a missing file is an empty inventory.</summary>
    public static HostInventory Load(string? path = null)
    {
        path = System.IO.Path.GetFullPath(path ?? DefaultPath);
        HostInventory inv;
        if (File.Exists(path))
        {
            try { inv = Reader.Deserialize<HostInventory?>(File.ReadAllText(path)) ?? new HostInventory(); }
            catch (YamlDotNet.Core.YamlException ex)
            {
                throw new VfException("InventoryUnreadable", FailureKind.InvalidData,
                    $"Inventory {path} line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}", path, ex);
            }
        }
        else inv = new HostInventory();
        inv.Path = path;
        return inv;
    }

    /// <summary>Writes the inventory atomically (temp file, then rename).</summary>
    public void Save()
    {
        var dir = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(dir);
        var tmp = Path + ".tmp";
        File.WriteAllText(tmp, "# VirtFleet host inventory\n" + Writer.Serialize(this));
        File.Move(tmp, Path, overwrite: true);
    }

    public HostEntry? Find(string name) =>
        Hosts.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Hosts matching any of the name patterns (wildcards) and all of the tags; no filter = all.</summary>
    public IReadOnlyList<HostEntry> Select(IEnumerable<string>? names = null, IEnumerable<string>? tags = null)
    {
        var nameList = names?.ToList() ?? [];
        var tagList = tags?.ToList() ?? [];
        var selected = Hosts.Where(h =>
            (nameList.Count == 0 || nameList.Any(n => Wildcard.IsMatch(h.Name, n) || h.Address == n)) &&
            tagList.All(h.HasTag)).ToList();
        foreach (var n in nameList.Where(n => !Wildcard.HasWildcards(n)))
            if (!Hosts.Any(h => string.Equals(h.Name, n, StringComparison.OrdinalIgnoreCase) || h.Address == n))
                throw new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{n}' in the inventory {Path}.", n);
        return selected;
    }
}
