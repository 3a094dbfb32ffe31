using System.Net;
using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>A libvirt network as `virsh net-dumpxml` describes it. ForwardMode null means isolated.</summary>
public sealed class NetworkInfo
{
    public string Name { get; init; } = "";
    public Guid? Uuid { get; init; }
    public string? Bridge { get; init; }
    /// <summary>nat, route, bridge, open... or null for an isolated network.</summary>
    public string? ForwardMode { get; init; }
    public IReadOnlyList<NetworkIp> Ips { get; init; } = [];

    public override string ToString() => Name;

    public static NetworkInfo Parse(string xml)
    {
        var root = ParseRoot(xml, "network");
        var forward = root.Element("forward");
        return new NetworkInfo
        {
            Name = root.Text("name") ?? "",
            Uuid = Guid.TryParse(root.Text("uuid"), out var uuid) ? uuid : null,
            Bridge = root.Element("bridge").Attr("name"),
            ForwardMode = forward is null ? null : forward.Attr("mode") ?? "nat",
            Ips = root.Elements("ip").Select(NetworkIp.FromXml).ToList(),
        };
    }
}

/// <summary>An address of the network's bridge with its DHCP ranges and static hosts.</summary>
public sealed record NetworkIp(string Family, string Address, int Prefix, IReadOnlyList<DhcpRange> DhcpRanges, IReadOnlyList<DhcpHost> DhcpHosts)
{
    internal static NetworkIp FromXml(XElement ip)
    {
        var family = ip.Attr("family") ?? "ipv4";
        var dhcp = ip.Element("dhcp");
        return new NetworkIp(family, ip.Attr("address") ?? "",
            Int(ip.Attr("prefix")) ?? PrefixOf(ip.Attr("netmask")) ?? (family == "ipv6" ? 64 : 24),
            dhcp?.Elements("range").Select(r => new DhcpRange(r.Attr("start") ?? "", r.Attr("end") ?? "")).ToList() ?? [],
            dhcp?.Elements("host").Select(h => new DhcpHost(h.Attr("mac"), h.Attr("name"), h.Attr("ip") ?? "")).ToList() ?? []);
    }

    static int? PrefixOf(string? netmask) =>
        IPAddress.TryParse(netmask, out var mask)
            ? mask.GetAddressBytes().Sum(b => System.Numerics.BitOperations.PopCount(b))
            : null;
}

public sealed record DhcpRange(string Start, string End);

public sealed record DhcpHost(string? Mac, string? Name, string Ip);
