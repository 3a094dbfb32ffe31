using System.Text.Json;
using System.Text.Json.Serialization;
using VirtFleet.Libvirt;

namespace VirtFleet.Images;

/// <summary>
/// An image's properties and files, stored as image.json beside the image on each host (and in the
/// admin's local cache). The files are the disk and, for direct kernel boot, kernel and initrd.
/// </summary>
public sealed class ImageManifest
{
    public string Name { get; set; } = "";
    public string OsFamily { get; set; } = "linux";
    public string? OsVariant { get; set; }
    public string? Firmware { get; set; }
    public string? DiskBus { get; set; }
    public string? NicModel { get; set; }
    public int? MinMemoryMiB { get; set; }
    public bool? VirtioDrivers { get; set; }
    /// <summary>What the image declares it was prepared with, beyond drivers (for a Windows cloud image: rdp, icmp,
    /// cloudbase-init, sysprep; see Windows.ImageRequirements). Written by image builds; an import takes them from image.json.</summary>
    public List<string>? Features { get; set; }
    /// <summary>File name of the root disk (qcow2) in the image's content folder (always <see cref="DiskFileName"/> for images imported
    /// since versions; whatever name an older import kept otherwise). Its host path is <see cref="ImageStore.HostDiskPath"/>'s alone.</summary>
    public string Disk { get; set; } = DiskFileName;

    /// <summary>The name an imported disk gets in the cache and on hosts, whatever the user's file was called.</summary>
    public const string DiskFileName = "disk.qcow2";

    /// <summary>
    /// The content version ("v-" and 16 hex digits of a SHA-256 over the files' names and checksums): the folder under the
    /// image's folder that holds these files on a host, never changed once there. Null for an image installed before versions
    /// (its files sit in the image's folder itself).
    /// </summary>
    public string? Version { get; set; }
    public string? Kernel { get; set; }
    public string? Initrd { get; set; }
    public string? Cmdline { get; set; }
    /// <summary>Virtual size of the disk in bytes (from its qcow2 header).</summary>
    public long VirtualSize { get; set; }
    /// <summary>SHA-256 (hex) of each file, by file name.</summary>
    public Dictionary<string, string> Files { get; set; } = [];
    public DateTime? Imported { get; set; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ImageManifest Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<ImageManifest>(json, Json)
                   ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new VfException("ImageManifestInvalid", FailureKind.InvalidData, $"{source}: not a valid image.json: {ex.Message}", source, ex);
        }
    }

    /// <summary>The version these files make (see <see cref="Version"/>); the same on every host and admin machine.</summary>
    public string ContentVersion()
    {
        var text = string.Concat(Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key + "\0" + f.Value + "\n"));
        return "v-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>A copy of this manifest.</summary>
    public ImageManifest Clone() => Parse(ToJson(), Name);

    /// <summary>The same properties (what the domain builder reads), whatever the files.</summary>
    public bool SameProperties(ImageManifest o) =>
        string.Equals(OsFamily, o.OsFamily, StringComparison.OrdinalIgnoreCase) && OsVariant == o.OsVariant && Firmware == o.Firmware &&
        DiskBus == o.DiskBus && NicModel == o.NicModel && MinMemoryMiB == o.MinMemoryMiB && VirtioDrivers == o.VirtioDrivers &&
        Kernel == o.Kernel && Initrd == o.Initrd && Cmdline == o.Cmdline;

    /// <summary>The same identity: name and every file's checksum.</summary>
    public bool SameContent(ImageManifest other) =>
        Name == other.Name && Files.Count == other.Files.Count &&
        Files.All(f => other.Files.TryGetValue(f.Key, out var h) && h == f.Value);

    /// <summary>The properties the domain builder takes; kernel/initrd as paths in the host's content folder (<see cref="ImageStore.HostContentDir"/>).</summary>
    public ImageProperties ToProperties(string hostImageDir) => new()
    {
        OsFamily = OsFamily.ToLowerInvariant(),
        OsVariant = OsVariant,
        Firmware = ParseEnum<Firmware>(Firmware is "uefi" or "Uefi" ? "efi" : Firmware),
        DiskBus = ParseEnum<DiskBus>(DiskBus),
        NicModel = ParseEnum<NicModel>(NicModel),
        MinMemoryMiB = MinMemoryMiB,
        VirtioDrivers = VirtioDrivers,
        Kernel = Kernel is null ? null : hostImageDir + "/" + Kernel,
        Initrd = Initrd is null ? null : hostImageDir + "/" + Initrd,
        Cmdline = Cmdline,
    };

    private static T? ParseEnum<T>(string? value) where T : struct, Enum =>
        value is null ? null : Enum.TryParse<T>(value, ignoreCase: true, out var v) ? v
            : throw new VfException("ImagePropertyInvalid", FailureKind.InvalidData, $"'{value}' is not a valid {typeof(T).Name}.");
}
