using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>A file-backed disk or cdrom. A null Target is named from its bus in list order (vda, sda, hda...).</summary>
public sealed class DomainDisk
{
    public DiskDevice Device { get; set; } = DiskDevice.Disk;
    public string Path { get; set; } = "";
    /// <summary>qemu image format: qcow2 for VirtFleet's overlays, raw for the seed ISO.</summary>
    public string Format { get; set; } = "qcow2";
    public DiskBus Bus { get; set; } = DiskBus.Virtio;
    public string? Target { get; set; }
    public bool ReadOnly { get; set; }

    internal XElement ToXml(string target) =>
        new("disk", new XAttribute("type", "file"), new XAttribute("device", Lower(Device)),
            new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", Format)),
            new XElement("source", new XAttribute("file", Path)),
            new XElement("target", new XAttribute("dev", target), new XAttribute("bus", Lower(Bus))),
            ReadOnly ? new XElement("readonly") : null);
}
