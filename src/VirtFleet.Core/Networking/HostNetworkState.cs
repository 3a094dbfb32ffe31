using System.Text.Json;
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

    const string Script = """
        V() { virsh -q -c qemu:///system "$@"; }
        d=FOLDER
        for f in networks.json addresses.json groups.json; do
          printf '\n@@VF-DOC@@ %s\n' "$f"
          if [ -e "$d/$f" ]; then sha256sum < "$d/$f" | cut -c1-64; cat -- "$d/$f"; else echo none; fi
        done
        printf '\n@@VF-SECTION@@ domains\n'
        vf_domains || exit 1
        printf '\n@@VF-SECTION@@ networks\n'
        active=" $(V net-list --name | tr '\n' ' ') "
        auto=" $(V net-list --all --autostart --name | tr '\n' ' ') "
        for n in $(V net-list --all --name); do
          case "$n" in *[!A-Za-z0-9_.-]*) continue ;; esac
          a=0; case "$active" in *" $n "*) a=1 ;; esac
          s=0; case "$auto" in *" $n "*) s=1 ;; esac
          m=0; p=$(cat "/run/libvirt/network/$n.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && m=1
          printf '\n@@VF-NET@@ %s %s %s %s\n' "$n" "$a" "$s" "$m"
          V net-dumpxml "$n"
        done
        printf '\n@@VF-SECTION@@ links\n'
        for l in /sys/class/net/*; do
          m=$(readlink "$l/master" 2>/dev/null); printf '%s %s\n' "${l##*/}" "${m##*/}"
        done
        printf '\n@@VF-SECTION@@ vxlan\n'
        ip -d -o link show type vxlan 2>/dev/null
        for l in $(ip -o link show type vxlan 2>/dev/null | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
          bridge fdb show dev "$l" 2>/dev/null | sed -n "s/^00:00:00:00:00:00 dst \([0-9.]*\).*/@@VF-FDB@@ $l \1/p"
        done
        printf '\n@@VF-SECTION@@ outside\n'
        vf_outside; echo
        printf '\n@@VF-SECTION@@ addresses\n'
        ip -o -4 addr show
        printf '\n@@VF-SECTION@@ dhcp\n'
        for n in "$d"/dhcp/*/; do
          [ -d "$n" ] || continue
          n=${n%/}; printf '@@VF-DHCPNET@@ %s\n' "${n##*/}"
          for f in "$n"/*; do [ -f "$f" ] && { cat -- "$f"; echo; }; done
        done
        printf '\n@@VF-SECTION@@ leases\n'
        cat /var/lib/libvirt/dnsmasq/*.status 2>/dev/null
        printf '\n@@VF-SECTION@@ filter\n'
        iptables-save -t filter 2>/dev/null | grep -E '^(:VF-|-A VF-|-A FORWARD )'
        echo "@@VF-BRIDGE-NF@@ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)"
        IP6LINES
        printf '\n@@VF-SECTION@@ nat\n'
        iptables-save -t nat 2>/dev/null | grep -E '^(:VF-|-A VF-|-A PREROUTING |-A POSTROUTING )'
        exit 0
        """;

    public static string ReadScript => Instances.InstanceReader.DomainsFunction + Hosts.HostProbe.OutsideInterfaceFunction + Script.Replace("FOLDER", NetworkStore.Folder).Replace("IP6LINES", HostFirewall.Ip6Lines.Trim());

    public static async Task<HostNetworkState> ReadAsync(IRemoteHost host, CancellationToken ct)
    {
        var r = (await host.RunAsync(ReadScript, ct)).EnsureSuccess(host.Host.Name, "reading the host's network state", "NetworkStateFailed");
        return Parse(host.Host.Name, r.Stdout, host.Host.Address);
    }

    /// <param name="address">The host's inventory address (its outside interface when it has no default route).</param>
    public static HostNetworkState Parse(string host, string stdout, string? address = null)
    {
        var sections = new Dictionary<string, string>();
        var parts = stdout.Split("\n@@VF-SECTION@@ ");
        foreach (var p in parts.Skip(1))
        {
            var nl = p.IndexOf('\n');
            sections[nl < 0 ? p.Trim() : p[..nl].Trim()] = nl < 0 ? "" : p[(nl + 1)..];
        }
        string S(string k) => sections.GetValueOrDefault(k, "");

        var domains = Instances.InstanceReader.ParseDomains(S("domains")).Select(d => new LiveDomain(d.Info, d.State)).ToList();

        var networks = new Dictionary<string, LiveNetwork>();
        foreach (var section in S("networks").Split("\n@@VF-NET@@ ").Skip(1))
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
            if (line.StartsWith("@@VF-FDB@@ "))
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
            if (line.StartsWith("@@VF-DHCPNET@@ ")) { dhcp[line[15..].Trim()] = current = []; continue; }
            var w = line.Split(',');
            if (current is not null && w.Length == 2) current.Add((w[0].Trim().ToLowerInvariant(), w[1].Trim()));
        }

        return new HostNetworkState
        {
            DhcpHosts = dhcp,
            Host = host, Docs = NetworkStore.ParseDocs(host, parts[0]), Domains = domains, Networks = networks,
            Vxlans = vx, Links = links, Addresses = addresses, OurAddresses = ours, OutsideInterface = S("outside").Trim() is { Length: > 0 } o ? o
                : address is null ? null : Hosts.HostProbe.InterfaceWith(address, addresses.Select(a => (a.Item1, a.Item2.Split('/')[0]))), LeasesByMac = Libvirt.DhcpLeases.Parse(S("leases")),
            FilterText = S("filter"), NatText = S("nat"),
        };
    }
}
