using System.Xml.Linq;

namespace VirtFleet.Libvirt;

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
