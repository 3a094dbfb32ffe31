using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using VirtFleet.Libvirt;

namespace VirtFleet.Networking;

/// <summary>
/// Bridged: instances join an existing host bridge (addresses from DHCP outside VirtFleet).
/// Nat: a libvirt network with NAT to the outside. Isolated: a libvirt network without forwarding.
/// </summary>
public enum NetworkMode { Bridged, Nat, Isolated }

/// <summary>A stable address of one instance's NIC in a VirtFleet network (a DHCP host reservation).</summary>
public sealed record AddressReservation(string Instance, string InstanceId, string Mac, string Address, string Host);

/// <summary>
/// A VirtFleet network, kept fleet-wide in networks.json on every host (see <see cref="NetworkStore"/>).
/// <para>Address plan (one per network, fleet-wide): every host of the network gets its own gateway
/// address on the network's bridge, allocated from the bottom of the subnet; instances get addresses
/// from the rest, one reservation per NIC, never two alike fleet-wide. Each host's dnsmasq (libvirt)
/// serves DHCP only to the MACs reserved for instances on that host (a static range with
/// dhcp-ignore for unknown clients), so on a spanning network, where all hosts' bridges share one LAN
/// over VXLAN, exactly one DHCP server answers each guest and gives it its host as router.</para>
/// </summary>
public sealed class VfNetwork
{
    public string Name { get; }
    public NetworkMode Mode { get; }
    /// <summary>The IPv4 subnet (Nat/Isolated); for Bridged, informational or null.</summary>
    public IPNetwork? Subnet { get; }
    /// <summary>Hosts the network lives on, in the order their gateways were given.</summary>
    public IReadOnlyList<string> Hosts { get; }
    /// <summary>Joined across its hosts by VXLAN (VNI = <see cref="Id"/>).</summary>
    public bool Span { get; }
    /// <summary>Fleet-unique number: VNI, and the names of the bridge (vfn&lt;id&gt;) and VXLAN link (vfx&lt;id&gt;).</summary>
    public int Id { get; }
    /// <summary>Bridged: the existing host bridge. Otherwise vfn&lt;id&gt;, made by libvirt.</summary>
    public string Bridge { get; }
    public string Description { get; }
    public IReadOnlyDictionary<string, string> Gateways { get; }
    public IReadOnlyList<AddressReservation> Reservations { get; }

    public const int MinId = 1000, MaxId = 99999;
    public const int SpanMtu = 1450;

    public VfNetwork(string name, NetworkMode mode, IPNetwork? subnet, IEnumerable<string> hosts, bool span, int id,
        string? bridge = null, string? description = null, IReadOnlyDictionary<string, string>? gateways = null,
        IEnumerable<AddressReservation>? reservations = null)
    {
        Name = Names.ValidateNetworkName(name);
        Mode = mode;
        Hosts = hosts.Distinct(StringComparer.Ordinal).ToList();
        if (Hosts.Count == 0) throw Invalid("NetworkWithoutHosts", $"Network '{name}' lives on no host.");
        foreach (var h in Hosts) Names.ValidateInstanceName(h);
        if (id is < MinId or > MaxId) throw Invalid("InvalidNetworkId", $"Network id {id} is not between {MinId} and {MaxId}.");
        Id = id;
        Span = span;
        Description = description ?? "";
        if (Description.Length > 255 || Description.Any(char.IsControl))
            throw Invalid("InvalidNetworkDescription", "A network description is at most 255 characters without control characters.");
        if (mode == NetworkMode.Bridged)
        {
            if (span) throw Invalid("SpanNeedsOwnBridge", "A Bridged network uses a host bridge that is already on the physical network; -Span is for Nat and Isolated networks.");
            Bridge = Names.ValidateBridgeName(bridge ?? throw Invalid("BridgeRequired", "A Bridged network needs -Bridge, the host bridge to attach instances to."));
            Subnet = subnet is { } s ? CheckSubnet(s) : null;
            Gateways = new Dictionary<string, string>();
            Reservations = [];
            return;
        }
        Subnet = CheckSubnet(subnet ?? throw Invalid("SubnetRequired", $"A {mode} network needs -Subnet (an IPv4 CIDR such as 203.0.113.128/28)."));
        if (Subnet.Value.PrefixLength > 29) throw Invalid("SubnetTooSmall", $"Subnet {Subnet} is too small; use /29 or larger.");
        Bridge = BridgeName(id);
        Gateways = gateways is null ? AllocateGateways(Subnet.Value, Hosts) : new Dictionary<string, string>(gateways);
        if (Hosts.Any(h => !Gateways.ContainsKey(h)))
            throw Invalid("InvalidNetworkDocument", $"Network '{name}': a host has no gateway address.");
        Reservations = (reservations ?? []).ToList();
        var used = new HashSet<string>();
        foreach (var a in Gateways.Values.Concat(Reservations.Select(r => r.Address)))
        {
            if (!Contains(Subnet.Value, IPAddress.Parse(a)) || !used.Add(a))
                throw Invalid("InvalidNetworkDocument", $"Network '{name}': address {a} is outside {Subnet} or given twice.");
        }
    }

    public static string BridgeName(int id) => "vfn" + id;
    public string VxlanDevice => "vfx" + Id;
    public bool IsLibvirtNetwork => Mode != NetworkMode.Bridged;

    public override string ToString() => Name;

    public VfNetwork WithReservations(IEnumerable<AddressReservation> reservations) =>
        new(Name, Mode, Subnet, Hosts, Span, Id, Mode == NetworkMode.Bridged ? Bridge : null, Description, Gateways, reservations);

    /// <summary>The lowest free address of the subnet for a new reservation, or an error when it is full.</summary>
    public IPAddress NextFreeAddress(IEnumerable<string>? alsoTaken = null)
    {
        var subnet = Subnet ?? throw Invalid("NoAddressPlan", $"Network '{Name}' has no address plan (Bridged).");
        var taken = Gateways.Values.Concat(Reservations.Select(r => r.Address)).Concat(alsoTaken ?? []).ToHashSet();
        foreach (var a in Usable(subnet))
            if (!taken.Contains(a.ToString())) return a;
        throw new VfException("NetworkFull", FailureKind.ResourceUnavailable, $"Network '{Name}' ({subnet}) has no free address left.", Name);
    }

    /// <summary>Addresses a guest or gateway may have: the subnet without its network and broadcast addresses.</summary>
    public static IEnumerable<IPAddress> Usable(IPNetwork subnet)
    {
        var first = ToUInt(subnet.BaseAddress);
        var size = 1u << (32 - subnet.PrefixLength);
        for (var i = 1u; i + 1 < size; i++) yield return FromUInt(first + i);
    }

    static Dictionary<string, string> AllocateGateways(IPNetwork subnet, IReadOnlyList<string> hosts)
    {
        var usable = Usable(subnet).Take(hosts.Count + 2).ToList();
        if (usable.Count < hosts.Count + 2)
            throw Invalid("SubnetTooSmall", $"Subnet {subnet} cannot hold a gateway for each of {hosts.Count} hosts and an instance.");
        return hosts.Select((h, i) => (h, usable[i].ToString())).ToDictionary(x => x.h, x => x.Item2);
    }

    static IPNetwork CheckSubnet(IPNetwork subnet)
    {
        if (subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
            throw Invalid("InvalidSubnet", $"Subnet {subnet} is not IPv4.");
        return subnet;
    }

    /// <summary>An IPv4 CIDR in canonical form ("203.0.113.128/28", not "203.0.113.130/28").</summary>
    public static IPNetwork ParseSubnet(string text)
    {
        if (IPNetwork.TryParse(text, out var net) && net.BaseAddress.AddressFamily == AddressFamily.InterNetwork && net.ToString() == text && net.PrefixLength >= 8)
            return net;
        throw Invalid("InvalidSubnet", $"'{text}' is not an IPv4 subnet in CIDR form such as 203.0.113.128/28 (no bits set past the prefix, /8 to /29).");
    }

    public static bool Contains(IPNetwork net, IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork && net.Contains(a);

    /// <summary>An interface address ("198.51.100.11/24") as its network (198.51.100.0/24); null when it is not IPv4 CIDR.</summary>
    public static IPNetwork? InterfaceNetwork(string cidr)
    {
        var p = cidr.Split('/');
        if (p.Length != 2 || !IPAddress.TryParse(p[0], out var a) || a.AddressFamily != AddressFamily.InterNetwork
            || !int.TryParse(p[1], out var len) || len is < 0 or > 32) return null;
        var v = ToUInt(a) & (len == 0 ? 0 : uint.MaxValue << (32 - len));
        return new IPNetwork(FromUInt(v), len);
    }

    public static uint ToUInt(IPAddress a) { var b = a.GetAddressBytes(); return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]); }
    public static IPAddress FromUInt(uint v) => new([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);

    static string Netmask(int prefix) => FromUInt(prefix == 0 ? 0 : uint.MaxValue << (32 - prefix)).ToString();

    /// <summary>The dnsmasq option namespace libvirt reads in a network's XML.</summary>
    public static readonly XNamespace DnsmasqNs = "http://libvirt.org/schemas/network/dnsmasq/1.0";

    /// <summary>Where a host keeps the network's DHCP reservations for its dnsmasq: one file per reserved MAC ("mac,ip").</summary>
    public string DhcpHostsDir => HostPaths.DhcpHosts(Name);

    /// <summary>
    /// The libvirt network for one host: bridge vfn&lt;id&gt;, that host's gateway, a DHCP range over the
    /// instance addresses answered only for known MACs: those of the files in <see cref="DhcpHostsDir"/>, which
    /// dnsmasq reads as they appear (dhcp-hostsdir, inotify). Reservations never go through
    /// `virsh net-update --live`: libvirt (iptables backend) removes and re-inserts the network's own firewall
    /// rules on every live ip-dhcp-host update, which would reorder rules that are not VirtFleet's.
    /// </summary>
    public XElement ToLibvirtXml(string host)
    {
        if (!IsLibvirtNetwork) throw Invalid("NotALibvirtNetwork", $"Network '{Name}' is Bridged: it has no libvirt network.");
        var subnet = Subnet!.Value;
        var gateway = Gateways.TryGetValue(host, out var g) ? g : throw Invalid("HostNotInNetwork", $"Host '{host}' is not in network '{Name}'.");
        var pool = Usable(subnet).Where(a => !Gateways.Values.Contains(a.ToString())).ToList();
        return new XElement("network",
            new XAttribute(XNamespace.Xmlns + "dnsmasq", DnsmasqNs.NamespaceName),
            new XElement("name", Name),
            Mode == NetworkMode.Nat ? new XElement("forward", new XAttribute("mode", "nat")) : null,
            new XElement("bridge", new XAttribute("name", Bridge), new XAttribute("stp", "off"), new XAttribute("delay", "0")),
            Span ? new XElement("mtu", new XAttribute("size", SpanMtu.ToString())) : null,
            new XElement("ip", new XAttribute("address", gateway), new XAttribute("netmask", Netmask(subnet.PrefixLength)),
                new XElement("dhcp",
                    new XElement("range", new XAttribute("start", pool[0].ToString()), new XAttribute("end", pool[^1].ToString())))),
            new XElement(DnsmasqNs + "options",
                new XElement(DnsmasqNs + "option", new XAttribute("value", "dhcp-hostsdir=" + DhcpHostsDir)),
                new XElement(DnsmasqNs + "option", new XAttribute("value", "dhcp-ignore=tag:!known"))));
    }

    /// <summary>The reservations a host's dnsmasq serves: those of instances on that host.</summary>
    public IEnumerable<AddressReservation> DhcpHosts(string host) =>
        Reservations.Where(r => r.Host == host).OrderBy(r => ToUInt(IPAddress.Parse(r.Address)));


    internal static VfException Invalid(string id, string message) => new(id, FailureKind.InvalidArgument, message);
}
