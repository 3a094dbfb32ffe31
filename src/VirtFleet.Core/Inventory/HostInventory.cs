using VirtFleet.Model;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace VirtFleet.Inventory;

/// <summary>
/// The readable YAML file listing the fleet's hosts; by default <see cref="UserPaths.Inventory"/>
/// (%APPDATA%\VirtFleet\inventory.yml on Windows, $XDG_CONFIG_HOME/virtfleet or ~/.config/virtfleet on
/// Linux and macOS; VIRTFLEET_INVENTORY overrides it).
/// </summary>
public sealed class HostInventory
{
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

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
    private static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull | DefaultValuesHandling.OmitEmptyCollections)
        .Build();

    /// <summary>Loads the inventory; a missing file is an empty inventory.</summary>
    public static HostInventory Load(string? path = null)
    {
        path = System.IO.Path.GetFullPath(path ?? UserPaths.Inventory);
        HostInventory inv;
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path);
            try { inv = Reader.Deserialize<HostInventory?>(text) ?? new HostInventory(); }
            catch (YamlDotNet.Core.YamlException ex)
            {
                throw new VfException("InventoryUnreadable", FailureKind.InvalidData,
                    $"Inventory {path} line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}", path, ex);
            }
            inv.Validate(path, HostLines(text));
        }
        else inv = new HostInventory();
        inv.Path = path;
        return inv;
    }

    /// <summary>
    /// Every host entry is checked as Add-VfHost checks one (name, address, port, user, tags: an allowlist), and no
    /// two hosts share a name (names are compared as -Host compares them, ignoring case). The first problem is an
    /// InvalidData error naming the file and the host's line.
    /// </summary>
    private void Validate(string path, IReadOnlyList<int> lines)
    {
        string At(int i) => i < lines.Count ? $"Inventory {path} line {lines[i]}" : $"Inventory {path}, host {i + 1}";
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Hosts.Count; i++)
        {
            var h = Hosts[i];
            if (h is null)
                throw new VfException("InventoryInvalid", FailureKind.InvalidData, $"{At(i)}: an empty host entry.", path);
            try { h.Validate(); }
            catch (VfException ex)
            {
                throw new VfException(ex.ErrorId, FailureKind.InvalidData, $"{At(i)}: {ex.Message}", path, ex);
            }
            if (seen.TryGetValue(h.Name, out var first))
                throw new VfException("DuplicateHostName", FailureKind.InvalidData,
                    $"{At(i)}: host name '{h.Name}' is already used by {(first < lines.Count ? $"line {lines[first]}" : $"host {first + 1}")}; host names must be unique.", path);
            seen[h.Name] = i;
        }
    }

    /// <summary>The line of each entry of the top-level 'hosts' list (empty when the text has no such list).</summary>
    private static List<int> HostLines(string text)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(text));
        if (stream.Documents.FirstOrDefault()?.RootNode is not YamlDotNet.RepresentationModel.YamlMappingNode root) return [];
        var hosts = root.Children.FirstOrDefault(kv => kv.Key is YamlDotNet.RepresentationModel.YamlScalarNode { Value: "hosts" }).Value;
        return hosts is YamlDotNet.RepresentationModel.YamlSequenceNode seq ? seq.Children.Select(n => (int)n.Start.Line).ToList() : [];
    }

    /// <summary>
    /// Loads an inventory the user named (-Inventory, $env:VIRTFLEET_INVENTORY): a file that does not exist is an error
    /// (InventoryNotFound), never an empty fleet, so a typo in a scheduled job fails instead of reaching nothing.
    /// </summary>
    public static HostInventory LoadExisting(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new VfException("InventoryNotFound", FailureKind.ObjectNotFound,
                $"No inventory file {full}. Name an existing inventory, or create one with Add-VfHost -Inventory.", full);
        return Load(full);
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
