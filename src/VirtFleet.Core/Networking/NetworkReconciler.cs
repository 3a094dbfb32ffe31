using System.Net;
using System.Text;
using VirtFleet.Libvirt;
using VirtFleet.Transport;
using static VirtFleet.Networking.IptablesText;

namespace VirtFleet.Networking;

/// <summary>
/// The public addresses' nat-table chains, in iptables-save form:
/// <code>
/// PREROUTING  -j VF-PREROUTING  (first rule)    VF-PREROUTING  -d &lt;public&gt;/32 -j DNAT --to-destination &lt;private&gt;
/// POSTROUTING -j VF-POSTROUTING (first rule)    VF-POSTROUTING -s &lt;private&gt;/32 ! -d &lt;subnet&gt; -j SNAT --to-source &lt;public&gt;
/// </code>
/// </summary>
public sealed record NatPlan(IReadOnlyList<string> Chains, IReadOnlyList<string> Rules)
{
    public const string Prerouting = "VF-PREROUTING", Postrouting = "VF-POSTROUTING";
    public static NatPlan None { get; } = new([], []);
    public bool InstallsJumps => Chains.Count > 0;
    public IReadOnlyList<string> Lines => [.. Chains.Select(c => $":{c} - [0:0]"), .. Rules];

    /// <summary>How the host's nat lines (VF- chains and the PREROUTING/POSTROUTING rules) differ from the plan.</summary>
    public IReadOnlyList<string> Compare(string natText)
    {
        var lines = natText.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        bool Ours(string l) => l.StartsWith(":VF-") || l.StartsWith("-A VF-");
        var live = lines.Where(Ours).Select(l => l.StartsWith(':') ? l[..(l.IndexOf(' ') < 0 ? l.Length : l.IndexOf(' '))] + " - [0:0]" : l).ToList();
        var problems = new List<string>();
        problems.AddRange(Lines.Except(live).Select(l => "nat: missing: " + l));
        problems.AddRange(live.Except(Lines).Select(l => "nat: unexpected: " + l));
        if (problems.Count == 0 && !live.SequenceEqual(Lines)) problems.Add("nat: rules of our chains are out of order");
        foreach (var (builtin, chain) in new[] { ("PREROUTING", Prerouting), ("POSTROUTING", Postrouting) })
        {
            var rules = lines.Where(l => l.StartsWith($"-A {builtin} ")).ToList();
            var jump = $"-A {builtin} -j {chain}";
            var n = rules.Count(l => l == jump);
            if (InstallsJumps && (n != 1 || rules[0] != jump)) problems.Add($"nat: the jump to {chain} is not the first and only one in {builtin}");
            if (!InstallsJumps && n > 0) problems.Add($"nat: {builtin} still jumps to {chain}");
        }
        return problems;
    }

}

/// <summary>
/// Makes a host's networking what the fleet's definitions say: libvirt networks (defined, active,
/// autostarted, dnsmasq alive, DHCP reservations of the instances on this host), VXLAN links of spanning
/// networks (VNI, local address, enslaved to the bridge, one flood entry per other host), instances' taps in
/// their bridges, public addresses on the outside interface with their DNAT/SNAT rules, and the security
/// groups' filter chains. <see cref="Check"/> lists what differs from one read; <see cref="ApplyScript"/>
/// fixes it in one round trip, each step checking before it changes anything, so a second run changes nothing.
/// Nothing that is not VirtFleet's is removed: only our networks, our vfx links, our VF- chains, and the
/// addresses VirtFleet added (they carry its label, e.g. eth0:vf).
/// </summary>
public static class NetworkReconciler
{
    public sealed record Desired(
        IReadOnlyList<VfNetwork> Networks,
        FirewallPlan Firewall,
        NatPlan Nat,
        IReadOnlyList<PublicAddress> Addresses,
        IReadOnlyList<string> Warnings);

    /// <summary>What this host should have, from the fleet's definitions and what runs on it.</summary>
    public static Desired Plan(FleetNetworkState fleet, HostNetworkState live)
    {
        var host = live.Host;
        var warnings = new List<string>();
        var networks = fleet.Networks.Where(n => n.IsLibvirtNetwork && n.Hosts.Contains(host)).ToList();
        var vfDomains = live.Domains.Where(d => d.Info.Metadata is not null).ToList();
        var present = vfDomains.ToDictionary(d => d.Info.Name, d => d);

        // Addresses by MAC: our reservations first, then DHCP leases (networks VirtFleet does not manage).
        var addressByMac = new Dictionary<string, IPAddress>(StringComparer.OrdinalIgnoreCase);
        foreach (var (mac, ip) in live.LeasesByMac) if (IPAddress.TryParse(ip, out var a)) addressByMac[mac] = a;
        foreach (var r in fleet.Networks.SelectMany(n => n.Reservations)) addressByMac[r.Mac] = IPAddress.Parse(r.Address);
        var bridgeByNetwork = live.Networks.Where(n => n.Value.Info.Bridge is not null).ToDictionary(n => n.Key, n => n.Value.Info.Bridge!);
        foreach (var n in networks) bridgeByNetwork[n.Name] = n.Bridge;

        // Public addresses whose instance runs here.
        var addresses = new List<PublicAddress>();
        foreach (var a in fleet.Addresses.Where(a => a.Associated && a.Host == host))
        {
            if (!present.TryGetValue(a.Instance!, out var d) || (a.InstanceId is not null && d.Info.Metadata!.InstanceId != a.InstanceId))
            {
                warnings.Add($"public address {a.Address}: instance {a.Instance} is not on {host}; not applied");
                continue;
            }
            if (a.Interface is null && live.OutsideInterface is null)
            {
                warnings.Add($"public address {a.Address}: {host} has no IPv4 default route (nor an interface with its inventory address) to tell its outside interface; give the address one (New-VfAddress -Interface); not applied");
                continue;
            }
            addresses.Add(a.On(a.Interface ?? live.OutsideInterface!));
        }

        var instances = vfDomains.Where(d => d.Info.Metadata!.SecurityGroups.Count > 0)
            .Select(d => FirewallInstance.FromDomain(d.Info, bridgeByNetwork, addressByMac)!)
            .ToList();
        var forwards = addresses.Select(a =>
        {
            var bridge = bridgeByNetwork.GetValueOrDefault(a.Network!) ?? "";
            return $"-A {ForwardChain} -d {a.PrivateAddress}/32" + (bridge.Length > 0 ? $" -o {Names.ValidateBridgeName(bridge)}" : "") +
                   $" -m conntrack --ctstate DNAT --ctorigdst {a.Address} -m comment --comment {Quote($"vf:{a.Instance} {a.Address}")} -j ACCEPT";
        }).ToList();
        var firewall = instances.Count == 0 && forwards.Count == 0 ? FirewallPlan.None : FirewallPlanner.Plan(instances, fleet.Groups, forwards);
        warnings.AddRange(firewall.Warnings);

        var nat = addresses.Count == 0 ? NatPlan.None : new NatPlan([NatPlan.Postrouting, NatPlan.Prerouting],
        [
            .. addresses.Select(a =>
            {
                var subnet = fleet.FindNetwork(a.Network!)?.Subnet;
                return $"-A {NatPlan.Postrouting} -s {a.PrivateAddress}/32" + (subnet is null ? "" : $" ! -d {subnet}") +
                       $" -m comment --comment {Quote($"vf:{a.Instance} {a.Address}")} -j SNAT --to-source {a.Address}";
            }),
            .. addresses.Select(a => $"-A {NatPlan.Prerouting} -d {a.Address}/32 -m comment --comment {Quote($"vf:{a.Instance} {a.Address}")} -j DNAT --to-destination {a.PrivateAddress}"),
        ]);
        return new Desired(networks, firewall, nat, addresses, warnings);
    }

    /// <summary>Every way the host differs from <paramref name="want"/>.</summary>
    public static IReadOnlyList<string> Check(FleetNetworkState fleet, HostNetworkState live, Desired want, IReadOnlyDictionary<string, string> hostAddresses)
    {
        var p = new List<string>();
        foreach (var n in want.Networks)
        {
            if (!live.Networks.TryGetValue(n.Name, out var ln)) { p.Add($"network {n.Name}: not defined"); continue; }
            if (ln.Info.Bridge != n.Bridge) { p.Add($"network {n.Name}: a libvirt network of that name uses bridge {ln.Info.Bridge}, not {n.Bridge} (not VirtFleet's; left alone)"); continue; }
            if (!ln.Active) p.Add($"network {n.Name}: not active");
            else if (!ln.DnsmasqRunning) p.Add($"network {n.Name}: dnsmasq is not running");
            if (!ln.Autostart) p.Add($"network {n.Name}: not autostarted");
            if (ln.Active && !live.Links.ContainsKey(n.Bridge)) p.Add($"network {n.Name}: bridge {n.Bridge} is missing");
            var liveHosts = LiveDhcp(live, n);
            var wantHosts = WantDhcp(n, live.Host);
            foreach (var h in wantHosts.Except(liveHosts)) p.Add($"network {n.Name}: DHCP reservation {h.Mac} {h.Ip} missing");
            foreach (var h in liveHosts.Except(wantHosts)) p.Add($"network {n.Name}: DHCP reservation {h.Mac} {h.Ip} not in the definition");
            if (Spans(n))
            {
                var peers = Peers(n, live.Host, hostAddresses);
                if (!live.Vxlans.TryGetValue(n.VxlanDevice, out var vx)) p.Add($"network {n.Name}: VXLAN link {n.VxlanDevice} is missing");
                else
                {
                    if (vx.Vni != n.Id || vx.Local != Local(n, live.Host, hostAddresses)) p.Add($"network {n.Name}: VXLAN link {n.VxlanDevice} has VNI {vx.Vni} local {vx.Local}");
                    if (vx.Master != n.Bridge) p.Add($"network {n.Name}: VXLAN link {n.VxlanDevice} is not in bridge {n.Bridge}");
                    if (!vx.Up) p.Add($"network {n.Name}: VXLAN link {n.VxlanDevice} is down");
                    foreach (var x in peers.Except(vx.Peers)) p.Add($"network {n.Name}: no flood entry to {x}");
                    foreach (var x in vx.Peers.Except(peers)) p.Add($"network {n.Name}: stale flood entry to {x}");
                }
            }
        }
        foreach (var (tap, bridge) in Taps(live, want))
            if (live.Links.TryGetValue(tap, out var master) && master != bridge) p.Add($"tap {tap} is not in bridge {bridge}");
        var (add, del) = AddressChanges(fleet, live, want);
        p.AddRange(add.Select(a => $"public address {a.Address} is not on {a.Interface}"));
        p.AddRange(del.Select(a => $"public address {a.Cidr} on {a.Interface} is not associated with an instance here"));
        var fw = FirewallStatus.Compare(want.Firewall, live.FilterText);
        p.AddRange(fw.Problems.Select(x => "filter: " + x));
        p.AddRange(want.Nat.Compare(live.NatText));
        return p;
    }

    static List<(string Mac, string Ip)> LiveDhcp(HostNetworkState live, VfNetwork n) =>
        live.DhcpHosts.TryGetValue(n.Name, out var hosts) ? hosts.ToList() : [];

    static List<(string Mac, string Ip)> WantDhcp(VfNetwork n, string host) =>
        n.DhcpHosts(host).Select(r => (r.Mac, Ip: r.Address)).ToList();

    static bool Spans(VfNetwork n) => n.Span && n.Hosts.Count > 1;

    static string Local(VfNetwork n, string host, IReadOnlyDictionary<string, string> hostAddresses) =>
        hostAddresses.TryGetValue(host, out var a) && IPAddress.TryParse(a, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? a
            : throw new VfException("SpanNeedsIPv4HostAddress", FailureKind.InvalidArgument,
                $"Network {n.Name} spans hosts over VXLAN: host {host} needs an IPv4 address in the inventory (it has '{a}').", host);

    static IReadOnlyList<string> Peers(VfNetwork n, string host, IReadOnlyDictionary<string, string> hostAddresses) =>
        n.Hosts.Where(h => h != host).Select(h => Local(n, h, hostAddresses)).Order(StringComparer.Ordinal).ToList();

    static IEnumerable<(string Tap, string Bridge)> Taps(HostNetworkState live, Desired want)
    {
        var bridges = want.Networks.ToDictionary(n => n.Name, n => n.Bridge);
        foreach (var d in live.Domains.Where(d => d.Info.Metadata is not null && d.State == "running"))
            foreach (var nic in d.Info.Interfaces.Where(i => i.Type == "network" && i.TargetDev is not null && i.Source is not null && bridges.ContainsKey(i.Source)))
                yield return (Names.ValidateBridgeName(nic.TargetDev), bridges[nic.Source!]);
    }

    /// <summary>
    /// Public addresses to add here, and addresses VirtFleet added here (its label) that should not be. An address
    /// without VirtFleet's label is never removed, whatever range it is in (a keepalived VIP, an admin's address on lo).
    /// </summary>
    static (IReadOnlyList<PublicAddress> Add, IReadOnlyList<(string Interface, string Cidr)> Delete) AddressChanges(
        FleetNetworkState fleet, HostNetworkState live, Desired want)
    {
        var add = want.Addresses.Where(a => !live.Addresses.Contains((a.Interface, a.Address + "/32"))).ToList();
        var del = live.OurAddresses.Where(x => x.Cidr.EndsWith("/32") && x.Cidr[..^3] is var ip
                && !want.Addresses.Any(a => a.Address == ip && a.Interface == x.Interface))
            .ToList();
        return (add, del);
    }

    const string Header = """
        set -f
        V() { virsh -q -c qemu:///system "$@"; }
        vf_changed() { printf '\n@@VF-CHANGED@@ %s\n' "$*"; }
        vf_problem() { printf '\n@@VF-PROBLEM@@ %s\n' "$*"; }
        vf_do() { what=$1; shift; if out=$("$@" 2>&1); then vf_changed "$what"; else vf_problem "$what failed: $(printf '%s' "$out" | tr '\n' ' ')"; return 1; fi; }
        vf_master() { m=$(readlink "/sys/class/net/$1/master" 2>/dev/null); [ "${m##*/}" = "$2" ] || vf_do "$1 put into bridge $2" ip link set "$1" master "$2"; }
        vf_net() { # name bridge xml-base64 dhcp-dir : defined, autostarted, active with dnsmasq; never touches a network on another bridge
          mkdir -p -- "$4" && chmod 755 -- "$4" "${4%/*}" || { vf_problem "cannot create $4"; return 1; }
          if V net-uuid "$1" >/dev/null 2>&1; then
            b=$(V net-dumpxml "$1" | sed -n "s/.*<bridge name='\([^']*\)'.*/\1/p" | head -n 1)
            [ "$b" = "$2" ] || { vf_problem "network $1 uses bridge $b, not $2; left alone"; return 1; }
          else
            f=$(mktemp) && printf '%s' "$3" | base64 -d > "$f" && vf_do "network $1 defined" V net-define "$f"; rm -f "$f"
          fi
          case " $(V net-list --all --autostart --name | tr '\n' ' ') " in *" $1 "*) ;; *) vf_do "network $1 autostarted" V net-autostart "$1" ;; esac
          case " $(V net-list --name | tr '\n' ' ') " in
            *" $1 "*) p=$(cat "/run/libvirt/network/$1.pid" 2>/dev/null)
                      if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then V net-destroy "$1" >/dev/null 2>&1; vf_do "network $1 restarted (dnsmasq was not running)" V net-start "$1"; fi ;;
            *) vf_do "network $1 started" V net-start "$1" ;;
          esac
        }
        vf_dhcp() { # network dir mac,ip... : one file per reservation in the dnsmasq hosts directory; SIGHUP when one goes
          n=$1 dir=$2; shift 2
          mkdir -p -- "$dir" || { vf_problem "cannot create $dir"; return 1; }
          for e in "$@"; do
            f="$dir/${e%%,*}"
            [ "$(cat -- "$f" 2>/dev/null)" = "$e" ] || { printf '%s\n' "$e" > "$f.tmp" && chmod 644 "$f.tmp" && mv -f -- "$f.tmp" "$f" && vf_changed "network $n: DHCP reservation $e"; }
          done
          gone=0
          # The script runs with globbing off (set -f): it is turned on for this one listing of our own directory.
          set +f; vf_files=$(for f in "$dir"/*; do [ -f "$f" ] && printf '%s\n' "${f##*/}"; done); set -f
          for f in $vf_files; do
            case " $* " in *" $f,"*) ;; *) rm -f -- "$dir/$f" && gone=1 && vf_changed "network $n: DHCP reservation $f removed" ;; esac
          done
          if [ "$gone" = 1 ]; then p=$(cat "/run/libvirt/network/$n.pid" 2>/dev/null) && [ -n "$p" ] && kill -HUP "$p" 2>/dev/null; fi
          return 0
        }
        vf_vxlan() { # dev vni local bridge mtu peer...
          d=$1 id=$2 l=$3 br=$4 mtu=$5; shift 5
          cur=$(ip -d -o link show dev "$d" 2>/dev/null)
          if [ -n "$cur" ]; then case "$cur" in *" vxlan id $id local $l "*) ;; *) vf_do "$d replaced (wrong VNI or local address)" ip link del "$d"; cur= ;; esac; fi
          [ -n "$cur" ] || vf_do "VXLAN link $d (VNI $id) created" ip link add "$d" mtu "$mtu" type vxlan id "$id" local "$l" dstport 4789 nolearning || return 1
          [ -e "/sys/class/net/$br" ] && vf_master "$d" "$br"
          case "$(ip -o link show dev "$d")" in *"<"*UP*">"*) ;; *) vf_do "$d up" ip link set "$d" up ;; esac
          have=$(bridge fdb show dev "$d" 2>/dev/null | sed -n 's/^00:00:00:00:00:00 dst \([0-9.]*\).*/\1/p')
          for p in "$@"; do printf '%s\n' "$have" | grep -qxF -e "$p" || vf_do "$d floods to $p" bridge fdb append 00:00:00:00:00:00 dev "$d" dst "$p"; done
          for p in $have; do case " $* " in *" $p "*) ;; *) vf_do "$d no longer floods to $p" bridge fdb del 00:00:00:00:00:00 dev "$d" dst "$p" ;; esac; done
        }
        vf_addr() { # add|del address/32 interface label : VirtFleet's addresses carry its label; only those are removed
          if [ "$1" = add ]; then
            ip -o -4 addr show dev "$3" | grep -q " inet $2 " || {
              vf_do "$2 added to $3" ip addr add "$2" dev "$3" label "$4" || return 0
              # tell the segment (gratuitous ARP) when arping is there: a moved address is found at once
              command -v arping >/dev/null 2>&1 && timeout 3 arping -q -U -c 1 -I "$3" "${2%/32}" >/dev/null 2>&1
            }
          else
            ip -o -4 addr show dev "$3" label "$4" | grep -q " inet $2 " && vf_do "$2 removed from $3" ip addr del "$2" dev "$3" label "$4"
          fi
          return 0
        }
        vf_nat() { # wanted(0|1); the plan on stdin when 1
          live=$(iptables-save -t nat) || { vf_problem "iptables-save -t nat failed"; return 1; }
          ours=$(printf '%s\n' "$live" | sed -n 's/^:\(VF-[A-Z]*ROUTING\) .*/\1/p')
          plan=''; [ "$1" = 1 ] && plan=$(cat)
          {
            echo '*nat'
            [ "$1" = 1 ] && printf '%s\n' "$plan"
            for c in PREROUTING POSTROUTING; do
              J="-A $c -j VF-$c"
              n=$(printf '%s\n' "$live" | grep -cxF -e "$J")
              first=$(printf '%s\n' "$live" | grep -m1 "^-A $c ")
              if [ "$1" = 1 ]; then
                if [ "$first" != "$J" ] || [ "$n" -ne 1 ]; then i=0; while [ "$i" -lt "$n" ]; do echo "-D $c -j VF-$c"; i=$((i+1)); done; echo "-I $c 1 -j VF-$c"; fi
              else
                i=0; while [ "$i" -lt "$n" ]; do echo "-D $c -j VF-$c"; i=$((i+1)); done
              fi
            done
            [ "$1" = 1 ] || for c in $ours; do echo "-F $c"; done
            echo COMMIT
            if [ "$1" != 1 ] && [ -n "$ours" ]; then echo '*nat'; for c in $ours; do echo "-X $c"; done; echo COMMIT; fi
          } | iptables-restore -w --noflush || { vf_problem "iptables-restore of the nat chains failed; the nat table is as it was"; return 1; }
          vf_changed "nat chains written"
        }
        """;

    /// <summary>
    /// One round trip that makes the host match <paramref name="want"/>: the libvirt networks, DHCP reservations,
    /// VXLAN links, taps, public addresses and nat chains; then the filter chains, when they differ. Run it under
    /// the host lock (<see cref="HostLock"/>), as <see cref="ReconcileAsync"/> does.
    /// </summary>
    /// <param name="force">Rewrite our nat and filter chains even when they match (they come out the same).</param>
    public static string ApplyScript(FleetNetworkState fleet, HostNetworkState live, Desired want, IReadOnlyDictionary<string, string> hostAddresses, bool force = false)
    {
        var sb = new StringBuilder(Header).Append('\n');
        sb.Append("(\n");
        foreach (var n in want.Networks)
        {
            var xml = Convert.ToBase64String(Encoding.UTF8.GetBytes(LibvirtXml.Format(n.ToLibvirtXml(live.Host))));
            sb.Append(ShellQuote.Join(new[] { "vf_dhcp", n.Name, n.DhcpHostsDir }.Concat(WantDhcp(n, live.Host).Select(h => MacAddress.Normalize(h.Mac) + "," + Ip(h.Ip))))).Append('\n');
            sb.Append(ShellQuote.Join("vf_net", n.Name, n.Bridge, xml, n.DhcpHostsDir)).Append(" && {\n");
            if (Spans(n))
                sb.Append(ShellQuote.Join(["vf_vxlan", n.VxlanDevice, n.Id.ToString(), Local(n, live.Host, hostAddresses), n.Bridge,
                    VfNetwork.SpanMtu.ToString(), .. Peers(n, live.Host, hostAddresses)])).Append('\n');
            sb.Append(": ; }\n");
        }
        foreach (var (tap, bridge) in Taps(live, want))
            sb.Append("[ -e /sys/class/net/").Append(tap).Append(" ] && ").Append(ShellQuote.Join("vf_master", tap, bridge)).Append('\n');
        var (add, del) = AddressChanges(fleet, live, want);
        foreach (var (iface, cidr) in del) sb.Append(ShellQuote.Join("vf_addr", "del", cidr, Names.ValidateBridgeName(iface), PublicAddress.Label(iface))).Append('\n');
        foreach (var a in want.Addresses) sb.Append(ShellQuote.Join("vf_addr", "add", a.Address + "/32", a.Interface!, PublicAddress.Label(a.Interface!))).Append('\n');
        if (force || want.Nat.Compare(live.NatText).Count > 0)
        {
            if (want.Nat.InstallsJumps)
                sb.Append("vf_nat 1 <<'@@VF-NAT-PLAN@@'\n").Append(string.Join('\n', want.Nat.Lines)).Append("\n@@VF-NAT-PLAN@@\n");
            else sb.Append("vf_nat 0\n");
        }
        sb.Append("exit 0\n) || exit $?\n");
        if (force || !FirewallStatus.Compare(want.Firewall, live.FilterText).InSync)
        {
            var body = want.Firewall.InstallsJump ? HostFirewall.ApplyScript : HostFirewall.RemoveScript;
            sb.Append("printf '%s' ").Append(ShellQuote.Quote(Convert.ToBase64String(Encoding.UTF8.GetBytes(want.Firewall.RestoreBody))))
              .Append(" | base64 -d | sh -c ").Append(ShellQuote.Quote(body)).Append(" && vf_changed 'filter chains written' || exit $?\n");
            var body6 = want.Firewall.InstallsJump ? HostFirewall.ApplyScript6 : HostFirewall.RemoveScript6;
            sb.Append("printf '%s' ").Append(ShellQuote.Quote(Convert.ToBase64String(Encoding.UTF8.GetBytes(want.Firewall.RestoreBody6))))
              .Append(" | base64 -d | sh -c ").Append(ShellQuote.Quote(body6)).Append(" && vf_changed 'IPv6 filter chains written' || exit $?\n");
        }
        sb.Append("exit 0\n");
        return sb.ToString();
    }

    static string Ip(string text) => PublicAddress.ParseIPv4(text, "InvalidAddress").ToString();

    /// <summary>Checks the host against the fleet's definitions and, unless <paramref name="checkOnly"/>, repairs what differs.</summary>
    public static async Task<NetworkHostReport> ReconcileAsync(IRemoteHost host, FleetNetworkState fleet, HostNetworkState live,
        IReadOnlyDictionary<string, string> hostAddresses, bool checkOnly, CancellationToken ct, bool force = false)
    {
        var want = Plan(fleet, live);
        var problems = Check(fleet, live, want, hostAddresses);
        if (checkOnly || (problems.Count == 0 && !force))
            return new NetworkHostReport { Host = live.Host, Problems = problems, Warnings = want.Warnings };
        var r = await HostLock.RunAsync(host, ApplyScript(fleet, live, want, hostAddresses, force), ct);
        r.EnsureSuccess(live.Host, "applying network definitions", "NetworkApplyFailed");
        var lines = r.Stdout.Split('\n');
        var changes = lines.Where(l => l.StartsWith("@@VF-CHANGED@@ ")).Select(l => l["@@VF-CHANGED@@ ".Length..].Trim()).ToList();
        var failed = lines.Where(l => l.StartsWith("@@VF-PROBLEM@@ ")).Select(l => l["@@VF-PROBLEM@@ ".Length..].Trim()).ToList();
        var kept = lines.Where(l => l.StartsWith("@@VF-KEPT@@ ")).Select(l => $"chain {l[12..].Trim()} is no longer used by VirtFleet but another rule jumps to it; left in place");
        return new NetworkHostReport { Host = live.Host, Problems = problems, Changes = changes, Warnings = [.. want.Warnings, .. failed, .. kept] };
    }

    private const string Teardown = """
        V() { virsh -q -c qemu:///system "$@"; }
        if V net-uuid "$1" >/dev/null 2>&1; then
          b=$(V net-dumpxml "$1" | sed -n "s/.*<bridge name='\([^']*\)'.*/\1/p" | head -n 1)
          if [ "$b" = "$2" ]; then V net-destroy "$1" >/dev/null 2>&1; V net-undefine "$1" || exit 1; else echo "network $1 uses bridge $b: not VirtFleet's, left alone" >&2; fi
        fi
        [ -e "/sys/class/net/$3" ] && { ip link del "$3" || exit 1; }
        rm -rf -- "$4"
        exit 0
        """;

    /// <summary>
    /// Removes a network's libvirt network (only when it is on the network's own bridge), VXLAN link and DHCP
    /// folder from one host, under the host lock. Returns a warning when something was left alone.
    /// </summary>
    public static async Task<string?> RemoveNetworkAsync(IRemoteHost host, VfNetwork net, CancellationToken ct)
    {
        var r = await HostLock.RunAsync(host, "set -- " + ShellQuote.Join(net.Name, net.Bridge, net.VxlanDevice, net.DhcpHostsDir) + "\n" + Teardown, ct);
        r.EnsureSuccess(host.Host.Name, $"removing network {net.Name}", "RemoveNetworkFailed");
        return r.Stderr.Trim() is { Length: > 0 } w ? w : null;
    }
}
