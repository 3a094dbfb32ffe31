using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>
/// A libvirt domain as VirtFleet defines it. ToXml writes elements in libvirt's own order, so the
/// same model always yields byte-identical XML; every value goes in as XML text or attribute value.
/// </summary>
public sealed class Domain
{
    public DomainType Type { get; set; } = DomainType.Qemu;
    public string Name { get; set; } = "";
    public Guid Uuid { get; set; }
    /// <summary>A one-line title (libvirt refuses newlines here).</summary>
    public string? Title { get; set; }
    public string? Description { get; set; }
    public VfMetadata? Metadata { get; set; }
    public long MemoryMiB { get; set; } = 512;
    public int Vcpus { get; set; } = 1;
    public DomainOs Os { get; set; } = new();
    public DomainFeatures Features { get; set; } = new();
    /// <summary>&lt;cpu mode&gt; such as host-model or host-passthrough; null leaves the hypervisor default.</summary>
    public string? CpuMode { get; set; }
    public DomainClock Clock { get; set; } = new();
    public DomainDevices Devices { get; set; } = new();

    public XElement ToXml()
    {
        Names.ValidateInstanceName(Name);
        if (Title is not null && Title.IndexOfAny(['\r', '\n']) >= 0)
            throw new VfException("InvalidDomainTitle", FailureKind.InvalidArgument, "A domain title must be a single line.", Name);

        var kib = Invariant(MemoryMiB * 1024);
        return new XElement("domain", new XAttribute("type", Lower(Type)),
            new XElement("name", Name),
            new XElement("uuid", Uuid.ToString("D")),
            Title is null ? null : new XElement("title", Title),
            Description is null ? null : new XElement("description", Description),
            Metadata is null ? null : new XElement("metadata", Metadata.ToXml()),
            new XElement("memory", new XAttribute("unit", "KiB"), kib),
            new XElement("currentMemory", new XAttribute("unit", "KiB"), kib),
            new XElement("vcpu", Invariant(Vcpus)),
            Os.ToXml(),
            Features.ToXml(),
            CpuMode is null ? null : new XElement("cpu", new XAttribute("mode", CpuMode)),
            Clock.ToXml(),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            Devices.ToXml());
    }

    /// <summary>The XML text for virsh define: deterministic, two-space indented, ending in a newline.</summary>
    public string ToXmlString() => Format(ToXml());
}
