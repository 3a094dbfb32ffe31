using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

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
