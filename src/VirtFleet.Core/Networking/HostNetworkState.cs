using System.Text.Json;
using VirtFleet.HostScripts;
using VirtFleet.Libvirt;
using VirtFleet.Transport;

namespace VirtFleet.Networking;

/// <summary>A libvirt network as a host runs it.</summary>
public sealed record LiveNetwork(NetworkInfo Info, bool Active, bool Autostart, bool DnsmasqRunning);

/// <summary>A VXLAN link on a host: its VNI, local address, bridge and flood (fdb) destinations.</summary>
public sealed record LiveVxlan(string Name, int Vni, string? Local, string? Master, bool Up, IReadOnlyList<string> Peers);

/// <summary>A domain on the host with its state (running, shut off...).</summary>
public sealed record LiveDomain(DomainInfo Info, string State);

/// <summary>
/// What the networking layer needs to know about one host, read in one round trip: the fleet documents
/// (<see cref="NetworkStore"/>), every domain's live XML, every libvirt network (XML, active, autostart,
/// dnsmasq alive), VXLAN links and their fdb, which bridge each interface is in, IPv4 addresses,
/// DHCP leases, and VirtFleet's lines of the filter and nat tables.
/// </summary>
public sealed class HostNetworkState
{
    public string Host { get; init; } = "";
    public NetworkStore.HostDocs Docs { get; init; } = null!;
    public IReadOnlyList<LiveDomain> Domains { get; init; } = [];
    public IReadOnlyDictionary<string, LiveNetwork> Networks { get; init; } = new Dictionary<string, LiveNetwork>();
    public IReadOnlyDictionary<string, LiveVxlan> Vxlans { get; init; } = new Dictionary<string, LiveVxlan>();
    /// <summary>Every network interface of the host and the bridge it is a port of (null: none).</summary>
    public IReadOnlyDictionary<string, string?> Links { get; init; } = new Dictionary<string, string?>();
    /// <summary>(interface, address/prefix) pairs.</summary>
    public IReadOnlyList<(string Interface, string Cidr)> Addresses { get; init; } = [];
    /// <summary>The interface of the host's IPv4 default route, else the one holding its inventory address (null when neither is
    /// known): public addresses without their own interface go there.</summary>
    public string? OutsideInterface { get; init; }
    /// <summary>
    /// The addresses VirtFleet added (public addresses): those carrying its label (<see cref="PublicAddress.Label"/>).
    /// Only these are ever removed; an address someone else put on an interface (a keepalived VIP) has none.
    /// </summary>
    public IReadOnlyList<(string Interface, string Cidr)> OurAddresses { get; init; } = [];
    public IReadOnlyDictionary<string, string> LeasesByMac { get; init; } = new Dictionary<string, string>();
    /// <summary>Per VirtFleet network: the DHCP reservations in the host's hosts directory for dnsmasq, (mac, ip).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Mac, string Ip)>> DhcpHosts { get; init; } = new Dictionary<string, IReadOnlyList<(string, string)>>();
    /// <summary>The filter-table lines HostFirewall's check compares (and the bridge-nf marker), ip6tables' after theirs.</summary>
    public string FilterText { get; init; } = "";
    /// <summary>VirtFleet's nat lines and the PREROUTING/POSTROUTING rules.</summary>
    public string NatText { get; init; } = "";

    /// <summary>The host's network state in one round trip (network-state.sh), as a typed step of a <see cref="HostBatch"/>.</summary>
    public static HostStep<HostNetworkState> ReadStep() =>
        HostScript.Load("network-state").Include("docs").Include("domains").Include("outside").Include("ip6read")
            .Reads(r => Parse(r.Host.Name, r.EnsureSuccess("reading the host's network state", "NetworkStateFailed").Stdout, r.Markers, r.Host.Address));

    public static Task<HostNetworkState> ReadAsync(IRemoteHost host, CancellationToken ct) => ReadStep().RunAsync(host, ct);

    /// <param name="address">The host's inventory address (its outside interface when it has no default route).</param>
    /// <param name="markers">The run's markers: only they start a section, a network or an fdb line.</param>
    public static HostNetworkState Parse(string host, string stdout, HostMarkers markers, string? address = null)
    {
        var sections = HostReply.SplitSections(stdout, markers["SECTION"]);
        string S(string k) => sections.GetValueOrDefault(k, "");

        var domains = Instances.InstanceReader.ParseDomains(S("domains"), markers).Select(d => new LiveDomain(d.Info, d.State)).ToList();

        var networks = new Dictionary<string, LiveNetwork>();
        foreach (var section in S("networks").Split("\n" + markers["NET"] + " ").Skip(1))
        {
            var nl = section.IndexOf('\n');
            if (nl < 0) continue;
            var head = section[..nl].Split(' ');
            if (head.Length != 4) continue;
            var xml = section[(nl + 1)..].Trim();
            if (xml.Length == 0) continue;
            networks[head[0]] = new LiveNetwork(NetworkInfo.Parse(xml), head[1] == "1", head[2] == "1", head[3] == "1");
        }

        var links = new Dictionary<string, string?>();
        foreach (var line in S("links").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = line.Split(' ', 2);
            links[w[0]] = w.Length > 1 && w[1].Trim().Length > 0 ? w[1].Trim() : null;
        }

        var vx = new Dictionary<string, LiveVxlan>();
        var fdb = new Dictionary<string, List<string>>();
        foreach (var line in S("vxlan").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith(markers["FDB"] + " ", StringComparison.Ordinal))
            {
                var w = line.Split(' ');
                if (w.Length == 3) (fdb.TryGetValue(w[1], out var l) ? l : fdb[w[1]] = []).Add(w[2]);
                continue;
            }
            var words = line.Replace('\\', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2) continue;
            var name = words[1].TrimEnd(':').Split('@')[0];
            string? After(string key) { var i = Array.IndexOf(words, key); return i >= 0 && i + 1 < words.Length ? words[i + 1] : null; }
            var flags = words.Length > 2 ? words[2] : "";
            vx[name] = new LiveVxlan(name, int.TryParse(After("id"), out var id) ? id : -1, After("local"), After("master"),
                flags.Contains(",UP") || flags.Contains("<UP"), []);
        }
        foreach (var (k, v) in vx.ToList()) vx[k] = v with { Peers = fdb.GetValueOrDefault(k) ?? [] };

        var addresses = new List<(string, string)>();
        var ours = new List<(string, string)>();
        foreach (var line in S("addresses").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "3: eth0    inet 203.0.113.9/32 scope global eth0:vf\       valid_lft ...": the label is the last word before the '\'.
            var w = line.Split('\\')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var i = Array.IndexOf(w, "inet");
            if (w.Length <= 1 || i <= 0 || i + 1 >= w.Length) continue;
            var dev = w[1].TrimEnd(':').Split('@')[0];
            addresses.Add((dev, w[i + 1]));
            if (w.Length > i + 2 && w[^1] == PublicAddress.Label(dev)) ours.Add((dev, w[i + 1]));
        }

        var dhcp = new Dictionary<string, IReadOnlyList<(string, string)>>();
        List<(string, string)>? current = null;
        foreach (var line in S("dhcp").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith(markers["DHCPNET"] + " ", StringComparison.Ordinal)) { dhcp[line[(markers["DHCPNET"].Length + 1)..].Trim()] = current = []; continue; }
            var w = line.Split(',');
            if (current is not null && w.Length == 2) current.Add((w[0].Trim().ToLowerInvariant(), w[1].Trim()));
        }

        return new HostNetworkState
        {
            DhcpHosts = dhcp,
            Host = host, Docs = NetworkStore.ParseDocs(host, S(""), markers), Domains = domains, Networks = networks,
            Vxlans = vx, Links = links, Addresses = addresses, OurAddresses = ours, OutsideInterface = S("outside").Trim() is { Length: > 0 } o ? o
                : address is null ? null : Hosts.HostProbe.InterfaceWith(address, addresses.Select(a => (a.Item1, a.Item2.Split('/')[0]))), LeasesByMac = Libvirt.DhcpLeases.Parse(S("leases"), markers),
            FilterText = S("filter"), NatText = S("nat"),
        };
    }
}
