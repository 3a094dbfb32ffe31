using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

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
