using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>&lt;devices&gt;, written in libvirt's order: disks, controllers, interfaces, serial, console, input, graphics, video, memballoon, rng.</summary>
public sealed class DomainDevices
{
    public List<DomainDisk> Disks { get; set; } = [];
    /// <summary>Controllers beyond the ones libvirt adds by itself, e.g. (usb, qemu-xhci), (scsi, virtio-scsi).</summary>
    public List<DomainController> Controllers { get; set; } = [];
    public List<DomainInterface> Interfaces { get; set; } = [];
    /// <summary>A pty serial port with the console on it.</summary>
    public bool SerialConsole { get; set; }
    /// <summary>A host file the serial port's output is also written to (virtlogd, appended); null keeps none.</summary>
    public string? SerialLog { get; set; }
    public bool UsbTablet { get; set; }
    public DomainGraphics? Graphics { get; set; }
    /// <summary>Video model (vga, qxl, virtio, ...); null writes none.</summary>
    public string? Video { get; set; }
    /// <summary>false writes model='none', since libvirt would otherwise add a balloon itself.</summary>
    public bool Memballoon { get; set; } = true;
    /// <summary>A virtio RNG fed from the host's /dev/urandom.</summary>
    public bool Rng { get; set; }

    internal XElement ToXml()
    {
        var targets = DiskTargets.Assign(Disks);
        return new XElement("devices",
            Disks.Select((d, i) => d.ToXml(targets[i])),
            Controllers.Select((c, i) => c.ToXml(Controllers.Take(i).Count(o => o.Type == c.Type))),
            Interfaces.Select(n => n.ToXml()),
            SerialConsole ? new XElement("serial", new XAttribute("type", "pty"),
                SerialLog is null ? null : new XElement("log", new XAttribute("file", SerialLog), new XAttribute("append", "on")),
                new XElement("target", new XAttribute("port", "0"))) : null,
            SerialConsole ? new XElement("console", new XAttribute("type", "pty"),
                new XElement("target", new XAttribute("type", "serial"), new XAttribute("port", "0"))) : null,
            UsbTablet ? new XElement("input", new XAttribute("type", "tablet"), new XAttribute("bus", "usb")) : null,
            Graphics?.ToXml(),
            new XElement("video", new XElement("model", new XAttribute("type", Video ?? "none"))),
            new XElement("memballoon", new XAttribute("model", Memballoon ? "virtio" : "none")),
            Rng ? new XElement("rng", new XAttribute("model", "virtio"),
                new XElement("backend", new XAttribute("model", "random"), "/dev/urandom")) : null);
    }
}

/// <summary>A controller; its index counts controllers of the same type in list order.</summary>
public sealed record DomainController(string Type, string? Model = null)
{
    internal XElement ToXml(int index) =>
        new("controller", new XAttribute("type", Type), new XAttribute("index", Invariant(index)),
            Model is null ? null : new XAttribute("model", Model));
}
