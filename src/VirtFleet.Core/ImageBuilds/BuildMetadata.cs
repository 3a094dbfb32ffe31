using System.Globalization;
using System.Xml.Linq;

namespace VirtFleet.ImageBuilds;

/// <summary>
/// What marks a domain as an image build (New-VfImageBuild) and what Complete-VfImageBuild needs to turn its root disk into
/// an image: an element in VirtFleet's build namespace inside the domain's &lt;metadata&gt;, beside the instance's own
/// (<see cref="Libvirt.VfMetadata"/>; a build is a VirtFleet instance too, so its console and removal work as any).
/// </summary>
public sealed class BuildMetadata
{
    public const string NamespaceUri = "https://virtfleet.dev/xmlns/build/1";
    public static readonly XNamespace Ns = NamespaceUri;

    public string OsFamily { get; set; } = "linux";
    public string? OsVariant { get; set; }
    /// <summary>bios or uefi (an image's spelling).</summary>
    public string Firmware { get; set; } = "bios";
    /// <summary>The root disk's bus (virtio, sata, ide, scsi).</summary>
    public string DiskBus { get; set; } = "virtio";
    /// <summary>A driver ISO was attached: the image is recorded as carrying virtio drivers.</summary>
    public bool VirtioDrivers { get; set; }
    public int DiskGiB { get; set; }
    /// <summary>The root disk (the first disk of the domain; never a CD-ROM).</summary>
    public string RootDisk { get; set; } = "";
    /// <summary>The OS ISO: its file name as given and its SHA-256 (the file on the host is isos/SHA.iso).</summary>
    public string IsoName { get; set; } = "";
    public string IsoSha256 { get; set; } = "";
    public string? DriverIsoName { get; set; }
    public string? DriverIsoSha256 { get; set; }
    /// <summary>What the build prepares the image with (a generated Windows answer file: rdp, icmp, cloudbase-init, sysprep); the image's manifest records them.</summary>
    public List<string> Features { get; set; } = [];
    public DateTime Started { get; set; }

    public XElement ToXml() =>
        new(Ns + "build",
            new XAttribute(XNamespace.Xmlns + "vfb", NamespaceUri),
            new XElement(Ns + "os", new XAttribute("family", OsFamily), OsVariant is null ? null : new XAttribute("variant", OsVariant)),
            new XElement(Ns + "firmware", Firmware),
            new XElement(Ns + "disk", new XAttribute("bus", DiskBus), new XAttribute("gib", DiskGiB.ToString(CultureInfo.InvariantCulture)), RootDisk),
            new XElement(Ns + "iso", new XAttribute("sha256", IsoSha256), IsoName),
            DriverIsoSha256 is null ? null : new XElement(Ns + "driverIso", new XAttribute("sha256", DriverIsoSha256), DriverIsoName ?? ""),
            new XElement(Ns + "virtioDrivers", VirtioDrivers ? "true" : "false"),
            Features.Select(f => new XElement(Ns + "feature", f)),
            new XElement(Ns + "started", Started.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));

    /// <summary>The build block of a domain element, or null when the domain is not an image build.</summary>
    public static BuildMetadata? FromDomain(XElement domain) =>
        domain.Element("metadata")?.Element(Ns + "build") is { } b ? FromXml(b) : null;

    public static BuildMetadata FromXml(XElement b) => new()
    {
        OsFamily = b.Element(Ns + "os")?.Attribute("family")?.Value ?? "linux",
        OsVariant = b.Element(Ns + "os")?.Attribute("variant")?.Value,
        Firmware = b.Element(Ns + "firmware")?.Value ?? "bios",
        DiskBus = b.Element(Ns + "disk")?.Attribute("bus")?.Value ?? "virtio",
        DiskGiB = int.TryParse(b.Element(Ns + "disk")?.Attribute("gib")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g) ? g : 0,
        RootDisk = b.Element(Ns + "disk")?.Value ?? "",
        IsoName = b.Element(Ns + "iso")?.Value ?? "",
        IsoSha256 = b.Element(Ns + "iso")?.Attribute("sha256")?.Value ?? "",
        DriverIsoName = b.Element(Ns + "driverIso")?.Value,
        DriverIsoSha256 = b.Element(Ns + "driverIso")?.Attribute("sha256")?.Value,
        VirtioDrivers = b.Element(Ns + "virtioDrivers")?.Value == "true",
        Features = b.Elements(Ns + "feature").Select(f => f.Value).ToList(),
        Started = DateTime.TryParse(b.Element(Ns + "started")?.Value, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var s) ? s : default,
    };
}
