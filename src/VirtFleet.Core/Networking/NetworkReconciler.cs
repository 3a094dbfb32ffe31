using System.Net;
using System.Text;
using VirtFleet.HostScripts;
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
/// groups' filter chains. <see cref="Check"/> lists what differs from one read; <see cref="ApplySteps"/>
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

    /// <summary>What a repair's round trip answers: the network part's reply and, when the filter chains were rewritten, theirs.</summary>
    public sealed record ApplyOutputs(HostOutput<HostReply> Network, HostOutput<FirewallApplied>? Filter, HostOutput<FirewallApplied>? Filter6);

    /// <summary>
    /// One round trip that makes the host match <paramref name="want"/>: network-apply.sh (the libvirt networks, DHCP
    /// reservations, VXLAN links, taps, public addresses and nat chains), then, when they differ, the filter chains for IPv4
    /// and IPv6 (firewall.sh), each only after what came before succeeded; all under the host lock.
    /// </summary>
    /// <param name="force">Rewrite our nat and filter chains even when they match (they come out the same).</param>
    /// <param name="addPublicAddresses">False: public addresses are not put on the host's interfaces (a live move prepares the
    /// destination this way before the guest arrives; the address moves at the switch-over).</param>
    public static (HostBatch Batch, ApplyOutputs Outputs) ApplySteps(FleetNetworkState fleet, HostNetworkState live, Desired want,
        IReadOnlyDictionary<string, string> hostAddresses, bool force = false, bool addPublicAddresses = true)
    {
        var script = HostScript.Load("network-apply");
        foreach (var n in want.Networks)
        {
            var xml = Convert.ToBase64String(Encoding.UTF8.GetBytes(LibvirtXml.Format(n.ToLibvirtXml(live.Host))));
            script.Call("vf_dhcp", [n.Name, n.DhcpHostsDir, .. WantDhcp(n, live.Host).Select(h => MacAddress.Normalize(h.Mac) + "," + Ip(h.Ip))]);
            IEnumerable<string> vxlan = Spans(n)
                ? [n.VxlanDevice, n.Id.ToString(), Local(n, live.Host, hostAddresses), n.Bridge, VfNetwork.SpanMtu.ToString(), .. Peers(n, live.Host, hostAddresses)]
                : [];
            script.Call("vf_network", [n.Name, n.Bridge, xml, n.DhcpHostsDir, .. vxlan]);
        }
        foreach (var (tap, bridge) in Taps(live, want)) script.Call("vf_tap", tap, bridge);
        var (add, del) = AddressChanges(fleet, live, want);
        foreach (var (iface, cidr) in del) script.Call("vf_addr", "del", cidr, Names.ValidateBridgeName(iface), PublicAddress.Label(iface));
        foreach (var a in want.Addresses.Where(_ => addPublicAddresses)) script.Call("vf_addr", "add", a.Address + "/32", a.Interface!, PublicAddress.Label(a.Interface!));
        if (force || want.Nat.Compare(live.NatText).Count > 0)
        {
            if (want.Nat.InstallsJumps) script.Call("vf_nat", "1", Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', want.Nat.Lines) + "\n")));
            else script.Call("vf_nat", "0");
        }
        script.Call("exit", "0").Locked();

        var batch = new HostBatch();
        var network = batch.Add(script.Reads(r => r));
        HostOutput<FirewallApplied>? filter = null, filter6 = null;
        if (force || !FirewallStatus.Compare(want.Firewall, live.FilterText).InSync)
        {
            filter = batch.Add(HostFirewall.ApplyStep(want.Firewall, ipv6: false), onlyAfterSuccess: true);
            filter6 = batch.Add(HostFirewall.ApplyStep(want.Firewall, ipv6: true), onlyAfterSuccess: true);
        }
        return (batch, new ApplyOutputs(network, filter, filter6));
    }

    /// <summary>The text of <see cref="ApplySteps"/>' round trip, for review and tests (its nonce is zeros; a real run draws one).</summary>
    public static string ApplyScript(FleetNetworkState fleet, HostNetworkState live, Desired want, IReadOnlyDictionary<string, string> hostAddresses, bool force = false) =>
        ApplySteps(fleet, live, want, hostAddresses, force).Batch.Render("0000000000000000");

    static string Ip(string text) => PublicAddress.ParseIPv4(text, "InvalidAddress").ToString();

    /// <summary>Checks the host against the fleet's definitions and, unless <paramref name="checkOnly"/>, repairs what differs.</summary>
    public static async Task<NetworkHostReport> ReconcileAsync(IRemoteHost host, FleetNetworkState fleet, HostNetworkState live,
        IReadOnlyDictionary<string, string> hostAddresses, bool checkOnly, CancellationToken ct, bool force = false, bool addPublicAddresses = true)
    {
        var want = Plan(fleet, live);
        var problems = Check(fleet, live, want, hostAddresses);
        if (checkOnly || (problems.Count == 0 && !force))
            return new NetworkHostReport { Host = live.Host, Problems = problems, Warnings = want.Warnings };
        var (batch, outputs) = ApplySteps(fleet, live, want, hostAddresses, force, addPublicAddresses);
        await batch.RunAsync(host, ct);
        var r = outputs.Network.Reply.EnsureSuccess("applying network definitions", "NetworkApplyFailed");
        var changes = r.Lines("CHANGED").Select(l => l.Trim()).ToList();
        var failed = r.Lines("PROBLEM").Select(l => l.Trim()).ToList();
        var kept = new List<string>();
        foreach (var (output, what) in new[] { (outputs.Filter, "filter chains written"), (outputs.Filter6, "IPv6 filter chains written") })
        {
            if (output is null) continue;
            if (output.Reply.ExitCode == HostExit.Skipped) break;
            FirewallApplied applied;
            try { applied = output.Value; }
            catch (VfException e) when (e.ErrorId == "FirewallFailed")
            {
                throw new VfException("NetworkApplyFailed", FailureKind.InvalidOperation, e.Message, live.Host, e);
            }
            changes.Add(what);
            kept.AddRange(applied.Warnings);
        }
        return new NetworkHostReport { Host = live.Host, Problems = problems, Changes = changes, Warnings = [.. want.Warnings, .. failed, .. kept] };
    }

    /// <summary>
    /// Removes a network's libvirt network (only when it is on the network's own bridge), VXLAN link and DHCP
    /// folder from one host, under the host lock. Returns a warning when something was left alone.
    /// </summary>
    public static async Task<string?> RemoveNetworkAsync(IRemoteHost host, VfNetwork net, CancellationToken ct)
    {
        var r = (await HostScript.Load("network-teardown").Args(net.Name, net.Bridge, net.VxlanDevice, net.DhcpHostsDir).Locked().RunAsync(host, ct))
            .EnsureSuccess($"removing network {net.Name}", "RemoveNetworkFailed");
        return r.Stderr.Trim() is { Length: > 0 } w ? w : null;
    }
}
