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

/// <summary>&lt;os&gt;: machine, firmware and how the guest boots (from disk, or a kernel given directly).</summary>
public sealed class DomainOs
{
    public string Arch { get; set; } = "x86_64";
    /// <summary>A machine type or alias (q35, pc); libvirt expands aliases to a versioned type.</summary>
    public string Machine { get; set; } = "q35";
    public Firmware Firmware { get; set; } = Firmware.Bios;
    /// <summary>Boot devices in order (hd, cdrom, network); unused with direct kernel boot.</summary>
    public List<string> BootDevices { get; set; } = ["hd"];
    /// <summary>Host path of a kernel for direct kernel boot; null boots from BootDevices.</summary>
    public string? Kernel { get; set; }
    public string? Initrd { get; set; }
    public string? Cmdline { get; set; }

    internal XElement ToXml() =>
        new("os",
            Firmware == Firmware.Efi ? new XAttribute("firmware", "efi") : null,
            new XElement("type", new XAttribute("arch", Arch), new XAttribute("machine", Machine), "hvm"),
            Kernel is null ? null : new XElement("kernel", Kernel),
            Kernel is null || Initrd is null ? null : new XElement("initrd", Initrd),
            Kernel is null || Cmdline is null ? null : new XElement("cmdline", Cmdline),
            Kernel is not null ? null : BootDevices.Select(dev => new XElement("boot", new XAttribute("dev", dev))));
}

/// <summary>&lt;features&gt;: ACPI/APIC/PAE and the Hyper-V enlightenments.</summary>
public sealed class DomainFeatures
{
    public SortedSet<PlatformFeature> Platform { get; set; } = [PlatformFeature.Acpi, PlatformFeature.Apic];
    public SortedSet<HyperVFeature> HyperV { get; set; } = [];
    public int SpinlockRetries { get; set; } = 8191;

    internal XElement? ToXml() =>
        Platform.Count == 0 && HyperV.Count == 0 ? null
            : new XElement("features",
                Platform.Select(f => new XElement(Lower(f))),
                HyperV.Count == 0 ? null : new XElement("hyperv", HyperV.Select(HyperVElement)));

    XElement HyperVElement(HyperVFeature feature) =>
        new(Lower(feature), new XAttribute("state", "on"),
            feature == HyperVFeature.Spinlocks ? new XAttribute("retries", Invariant(SpinlockRetries)) : null);
}

/// <summary>&lt;clock&gt;: the guest's RTC base (Windows wants localtime) and its timers.</summary>
public sealed class DomainClock
{
    public ClockOffset Offset { get; set; } = ClockOffset.Utc;
    public List<ClockTimer> Timers { get; set; } = [];

    internal XElement ToXml() =>
        new("clock", new XAttribute("offset", Lower(Offset)), Timers.Select(t => t.ToXml()));
}

/// <summary>One &lt;timer&gt;: rtc/pit with a tick policy, hpet or hypervclock present or not.</summary>
public sealed class ClockTimer
{
    public string Name { get; set; } = "";
    public string? TickPolicy { get; set; }
    public bool? Present { get; set; }

    internal XElement ToXml() =>
        new("timer", new XAttribute("name", Name),
            TickPolicy is null ? null : new XAttribute("tickpolicy", TickPolicy),
            Present is null ? null : new XAttribute("present", YesNo(Present.Value)));
}
