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
            SerialConsole ? new XElement("serial", new XAttribute("type", "pty"), new XElement("target", new XAttribute("port", "0"))) : null,
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

/// <summary>A controller; its index counts controllers of the same type in list order.</summary>
public sealed record DomainController(string Type, string? Model = null)
{
    internal XElement ToXml(int index) =>
        new("controller", new XAttribute("type", Type), new XAttribute("index", Invariant(index)),
            Model is null ? null : new XAttribute("model", Model));
}

/// <summary>A NIC on a libvirt network or a host bridge.</summary>
public sealed class DomainInterface
{
    public InterfaceType Type { get; set; } = InterfaceType.Network;
    /// <summary>The libvirt network name or host bridge name.</summary>
    public string Source { get; set; } = "default";
    public string? Mac { get; set; }
    public NicModel Model { get; set; } = NicModel.Virtio;

    internal XElement ToXml() =>
        new("interface", new XAttribute("type", Lower(Type)),
            Mac is null ? null : new XElement("mac", new XAttribute("address", Mac)),
            new XElement("source", new XAttribute(Type == InterfaceType.Bridge ? "bridge" : "network", Source)),
            new XElement("model", new XAttribute("type", Lower(Model))));
}

/// <summary>A VNC console, on loopback unless told otherwise; a null Port lets libvirt pick one.</summary>
public sealed class DomainGraphics
{
    public string Listen { get; set; } = "127.0.0.1";
    public int? Port { get; set; }

    internal XElement ToXml() =>
        new("graphics", new XAttribute("type", "vnc"),
            new XAttribute("port", Invariant(Port ?? -1)),
            new XAttribute("autoport", YesNo(Port is null)),
            new XElement("listen", new XAttribute("type", "address"), new XAttribute("address", Listen)));
}

/// <summary>Deterministic target names: a per-prefix counter in disk order, skipping names set explicitly.</summary>
public static class DiskTargets
{
    public static string Prefix(DiskBus bus) => bus switch
    {
        DiskBus.Virtio => "vd",
        DiskBus.Ide => "hd",
        _ => "sd", // sata and scsi share the sd namespace
    };

    /// <summary>The index-th name for a prefix: 0 → a, 25 → z, 26 → aa (libvirt's scheme).</summary>
    public static string Name(string prefix, int index)
    {
        var suffix = "";
        for (var n = index + 1; n > 0; n = (n - 1) / 26)
            suffix = (char)('a' + (n - 1) % 26) + suffix;
        return prefix + suffix;
    }

    /// <summary>The target of every disk, in order.</summary>
    public static IReadOnlyList<string> Assign(IReadOnlyList<DomainDisk> disks)
    {
        var used = disks.Where(d => d.Target is not null).Select(d => d.Target!).ToHashSet();
        var next = new Dictionary<string, int>();
        return disks.Select(d => d.Target ?? NextFree(Prefix(d.Bus))).ToList();

        string NextFree(string prefix)
        {
            string name;
            do name = Name(prefix, next[prefix] = next.GetValueOrDefault(prefix, -1) + 1);
            while (!used.Add(name));
            return name;
        }
    }
}
