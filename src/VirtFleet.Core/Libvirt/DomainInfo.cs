using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>A domain as `virsh dumpxml` describes it. Metadata is null when VirtFleet did not create it.</summary>
public sealed class DomainInfo
{
    public string Name { get; init; } = "";
    public Guid? Uuid { get; init; }
    /// <summary>kvm, qemu, or whatever the driver reports.</summary>
    public string Type { get; init; } = "";
    /// <summary>The running domain's id; null when shut off.</summary>
    public int? Id { get; init; }
    public string? Title { get; init; }
    public string? Description { get; init; }
    public long MemoryMiB { get; init; }
    public long CurrentMemoryMiB { get; init; }
    public int Vcpus { get; init; }
    public string? Arch { get; init; }
    public string? Machine { get; init; }
    /// <summary>efi or bios (when no firmware or loader is set).</summary>
    public string Firmware { get; init; } = "bios";
    public string? Kernel { get; init; }
    public IReadOnlyList<DiskInfo> Disks { get; init; } = [];
    public IReadOnlyList<InterfaceInfo> Interfaces { get; init; } = [];
    public IReadOnlyList<GraphicsInfo> Graphics { get; init; } = [];
    public VfMetadata? Metadata { get; init; }

    public bool IsVirtFleet => Metadata is not null;
    public string? OsFamily => Metadata?.OsFamily;

    public override string ToString() => Name;

    public static DomainInfo Parse(string xml) => FromXml(ParseRoot(xml, "domain"));

    public static DomainInfo FromXml(XElement domain)
    {
        var os = domain.Element("os");
        var devices = domain.Element("devices");
        var loader = os?.Element("loader");
        return new DomainInfo
        {
            Name = domain.Text("name") ?? "",
            Uuid = Guid.TryParse(domain.Text("uuid"), out var uuid) ? uuid : null,
            Type = domain.Attr("type") ?? "",
            Id = Int(domain.Attr("id")) is > 0 and var id ? id : null,
            Title = domain.Text("title"),
            Description = domain.Text("description"),
            MemoryMiB = Mib(domain.Element("memory")) ?? 0,
            CurrentMemoryMiB = Mib(domain.Element("currentMemory")) ?? Mib(domain.Element("memory")) ?? 0,
            Vcpus = Int(domain.Text("vcpu")?.Trim()) ?? 1,
            Arch = os?.Element("type").Attr("arch"),
            Machine = os?.Element("type").Attr("machine"),
            Firmware = os.Attr("firmware") == "efi" || loader.Attr("type") == "pflash" || loader?.Value.Contains("OVMF") == true ? "efi" : "bios",
            Kernel = os.Text("kernel"),
            Disks = devices?.Elements("disk").Select(DiskInfo.FromXml).ToList() ?? [],
            Interfaces = devices?.Elements("interface").Select(InterfaceInfo.FromXml).ToList() ?? [],
            Graphics = devices?.Elements("graphics").Select(GraphicsInfo.FromXml).ToList() ?? [],
            Metadata = VfMetadata.FromDomain(domain),
        };
    }
}

/// <summary>A disk or cdrom: Path is the source file or block device (or pool/volume).</summary>
public sealed record DiskInfo(string Device, string Type, string? Path, string? Format, string? Bus, string? Target, bool ReadOnly)
{
    internal static DiskInfo FromXml(XElement disk)
    {
        var source = disk.Element("source");
        var path = source.Attr("file") ?? source.Attr("dev") ?? source.Attr("name")
            ?? (source.Attr("pool") is { } pool ? $"{pool}/{source.Attr("volume")}" : null);
        return new DiskInfo(disk.Attr("device") ?? "disk", disk.Attr("type") ?? "file", path,
            disk.Element("driver").Attr("type"), disk.Element("target").Attr("bus"), disk.Element("target").Attr("dev"),
            disk.Element("readonly") is not null);
    }
}

/// <summary>A NIC: Source is the network or bridge name; TargetDev the host tap while running.</summary>
public sealed record InterfaceInfo(string Type, string? Mac, string? Model, string? Source, string? TargetDev)
{
    internal static InterfaceInfo FromXml(XElement nic)
    {
        var source = nic.Element("source");
        return new InterfaceInfo(nic.Attr("type") ?? "", nic.Element("mac").Attr("address"), nic.Element("model").Attr("type"),
            source.Attr("network") ?? source.Attr("bridge") ?? source.Attr("dev"), nic.Element("target").Attr("dev"));
    }
}

/// <summary>A graphics console; Port is -1 or null until a running domain gets one.</summary>
public sealed record GraphicsInfo(string Type, int? Port, bool Autoport, string? Listen)
{
    internal static GraphicsInfo FromXml(XElement g) =>
        new(g.Attr("type") ?? "", Int(g.Attr("port")), g.Attr("autoport") == "yes",
            g.Element("listen").Attr("address") ?? g.Attr("listen"));
}
