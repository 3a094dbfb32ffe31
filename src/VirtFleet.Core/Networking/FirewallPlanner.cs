using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using VirtFleet.Libvirt;
using static VirtFleet.Networking.IptablesText;

namespace VirtFleet.Networking;

/// <summary>
/// A guest NIC as the host sees it: the tap device from the live domain XML (&lt;target dev='vnet3'/&gt;),
/// the bridge it is plugged into and the guest's IPv4 address on it, when known.
/// </summary>
public sealed record FirewallNic(string TapDevice, string? Bridge = null, IPAddress? Address = null);

/// <summary>An instance to filter: every instance given to the planner gets default-deny inbound.</summary>
public sealed record FirewallInstance(string Name, string InstanceId, IReadOnlyList<FirewallNic> Nics, IReadOnlyList<string> Groups)
{
    /// <summary>
    /// From a live VirtFleet domain: its network/bridge NICs that have a tap device, the bridge of each
    /// (a bridge NIC names it; a network NIC's comes from <paramref name="bridgeByNetwork"/>) and their
    /// addresses by MAC (DHCP leases). Null for a domain VirtFleet did not create. macvtap ('direct')
    /// and user-mode NICs are skipped: they do not pass a host bridge.
    /// </summary>
    public static FirewallInstance? FromDomain(DomainInfo domain, IReadOnlyDictionary<string, string> bridgeByNetwork,
        IReadOnlyDictionary<string, IPAddress> addressByMac)
    {
        if (domain.Metadata is not { } meta) return null;
        var nics = domain.Interfaces
            .Where(n => n.TargetDev is not null && n.Type is "network" or "bridge")
            .Select(n => new FirewallNic(n.TargetDev!,
                n.Type == "bridge" ? n.Source : n.Source is { } net ? bridgeByNetwork.GetValueOrDefault(net) : null,
                n.Mac is { } mac ? addressByMac.GetValueOrDefault(mac.ToLowerInvariant()) ?? addressByMac.GetValueOrDefault(mac) : null))
            .ToList();
        return new FirewallInstance(domain.Name, meta.InstanceId, nics, meta.SecurityGroups);
    }
}

/// <summary>
/// Turns instances and security groups into VirtFleet's iptables chains for one host:
/// <code>
/// FORWARD     -j VF-FORWARD (first rule; kept first by HostFirewall)
/// VF-FORWARD  per NIC: bridged traffic out of its tap (physdev)    -j VF-I-&lt;id&gt;
///                      routed traffic out of its bridge to its IPv4 -j VF-I-&lt;id&gt;
/// VF-I-&lt;id&gt;    RELATED,ESTABLISHED -j RETURN; each rule of each group -j RETURN; the rest -j DROP
/// </code>
/// Allowed traffic RETURNs rather than ACCEPTs: it goes on through FORWARD, so libvirt's and the
/// admin's rules still apply and a security group can only narrow what reaches a guest, never open what
/// the network (a NAT network, a DROP policy) keeps out. The output depends only on the input set:
/// instances sorted by id, NICs by tap, groups by name, rules in their group's order.
/// </summary>
public static partial class FirewallPlanner
{
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]{0,22}\z")]
    private static partial Regex InstanceIdPattern();

    /// <summary>VF-I-&lt;id&gt;: at most 28 characters, the limit of an iptables chain name.</summary>
    public static string InstanceChain(string instanceId) =>
        InstanceIdPattern().IsMatch(instanceId ?? "")
            ? InstanceChainPrefix + instanceId
            : throw SecurityRule.Invalid("InvalidInstanceId",
                $"Instance id '{instanceId}' must be 1-23 letters, digits, '_' or '-', not starting with '_' or '-'.");

    /// <param name="extraForwardRules">"-A VF-FORWARD ..." rules that follow the instances' jumps (a public
    /// address's ACCEPT for its DNATed traffic, which has passed the instance's chain by then).</param>
    public static FirewallPlan Plan(IEnumerable<FirewallInstance> instances, IEnumerable<SecurityGroup> groups,
        IEnumerable<string>? extraForwardRules = null)
    {
        var byName = new Dictionary<string, SecurityGroup>(StringComparer.Ordinal);
        foreach (var g in groups)
            if (!byName.TryAdd(g.Name, g))
                throw SecurityRule.Invalid("DuplicateSecurityGroup", $"Security group '{g.Name}' is given twice.");
        var list = instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal).ToList();
        Unique(list.Select(i => i.InstanceId), "DuplicateInstanceId", "instance id");
        Unique(list.SelectMany(i => i.Nics).Select(n => n.TapDevice), "DuplicateTapDevice", "tap device");

        var chains = new List<string> { ForwardChain };
        var jumps = new List<string>();
        var rules = new List<string>();
        var jumps6 = new List<string>();
        var rules6 = new List<string>();
        var warnings = new List<string>();
        foreach (var instance in list)
        {
            var name = Names.ValidateInstanceName(instance.Name);
            var chain = InstanceChain(instance.InstanceId);
            chains.Add(chain);
            foreach (var nic in instance.Nics.OrderBy(n => n.TapDevice, StringComparer.Ordinal))
            {
                jumps.AddRange(Jumps(name, chain, nic));
                jumps6.Add(BridgedJump(name, chain, nic));
            }
            rules6.AddRange(Ipv6Rules(name, chain));
            rules.Add($"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN");
            foreach (var groupName in instance.Groups.Select(SecurityGroup.ValidateName).Distinct().Order(StringComparer.Ordinal))
            {
                if (!byName.TryGetValue(groupName, out var group))
                {
                    warnings.Add($"{name}: security group '{groupName}' does not exist; it allows nothing.");
                    continue;
                }
                rules.AddRange(group.Rules.Select(r => string.Join(' ',
                    ["-A", chain, .. Match(r), "-m comment --comment", Quote($"vf:{name} {groupName} {r}"), "-j RETURN"])));
            }
            rules.Add($"-A {chain} -m comment --comment {Quote($"vf:{name} default deny")} -j DROP");
        }
        foreach (var extra in extraForwardRules ?? [])
        {
            if (!extra.StartsWith($"-A {ForwardChain} ", StringComparison.Ordinal) || extra.Any(char.IsControl))
                throw SecurityRule.Invalid("InvalidForwardRule", $"'{extra}' is not a rule of {ForwardChain}.");
            jumps.Add(extra);
        }
        chains.Sort(StringComparer.Ordinal);
        return new FirewallPlan(chains, [.. jumps, .. rules], warnings, [.. jumps6, .. rules6]);
    }

    /// <summary>The stand-in for a tap device in <see cref="Guard"/>'s lines, replaced on the host by each tap of the paused guest.</summary>
    public const string TapPlaceholder = "@VF-TAP@";

    /// <summary>
    /// Default deny for one new instance before it runs (issue 13, defect 9): its chain admitting only replies (and, over
    /// IPv6, neighbour discovery) and, for each of its taps (<see cref="TapPlaceholder"/>), a jump inserted at the top of
    /// VF-FORWARD, in iptables-restore form for each family. The create script applies them while the guest is paused,
    /// then lets it run; the full plan (its groups' rules) follows in the same command.
    /// </summary>
    public static (IReadOnlyList<string> V4, IReadOnlyList<string> V6) Guard(string name, string instanceId)
    {
        Names.ValidateInstanceName(name);
        var chain = InstanceChain(instanceId);
        var jump = $"-I {ForwardChain} 1 -m physdev --physdev-out {TapPlaceholder} --physdev-is-bridged -m comment --comment {Quote($"vf:{name} {TapPlaceholder}")} -j {chain}";
        string[] v4 =
        [
            $":{chain} - [0:0]",
            $"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
            $"-A {chain} -m comment --comment {Quote($"vf:{name} default deny")} -j DROP",
            jump,
        ];
        return (v4, [$":{chain} - [0:0]", .. Ipv6Rules(name, chain), jump]);
    }

    /// <summary>ICMPv6 router advertisement, neighbour solicitation and advertisement: what IPv6 needs to work on a link.</summary>
    static readonly int[] NeighbourDiscovery = [134, 135, 136];

    /// <summary>An instance's chain in ip6tables: replies and neighbour discovery, nothing else (groups are IPv4 only).</summary>
    public static IEnumerable<string> Ipv6Rules(string name, string chain) =>
    [
        $"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        .. NeighbourDiscovery.Select(t => $"-A {chain} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j RETURN"),
        $"-A {chain} -m comment --comment {Quote($"vf:{name} default deny")} -j DROP",
    ];

    /// <summary>The jump for frames bridged out of an instance's tap (both families).</summary>
    public static string BridgedJump(string name, string chain, FirewallNic nic)
    {
        var tap = Interface(nic.TapDevice, "InvalidTapDevice", "tap device");
        return $"-A {ForwardChain} -m physdev --physdev-out {tap} --physdev-is-bridged -m comment --comment {Quote($"vf:{name} {tap}")} -j {chain}";
    }

    // Bridged frames (guest to guest on one bridge, a host bridge with an uplink) reach FORWARD through
    // br_netfilter and leave by the tap; routed packets (a 'route' network, DNAT into a 'nat' network,
    // another network's guest) leave by the bridge, before the bridge picks a port, so only the bridge and
    // the destination address tell them apart. "! --physdev-is-bridged" keeps a packet from matching both.
    static IEnumerable<string> Jumps(string name, string chain, FirewallNic nic)
    {
        var tap = Interface(nic.TapDevice, "InvalidTapDevice", "tap device");
        yield return BridgedJump(name, chain, nic);
        if (nic.Bridge is null || nic.Address is null) yield break;
        if (nic.Address.AddressFamily != AddressFamily.InterNetwork)
            throw SecurityRule.Invalid("InvalidGuestAddress", $"{name}: guest address {nic.Address} is not IPv4.");
        var bridge = Interface(nic.Bridge, "InvalidBridgeName", "bridge");
        yield return $"-A {ForwardChain} -d {nic.Address}/32 -o {bridge} -m physdev ! --physdev-is-bridged " +
                     $"-m comment --comment {Quote($"vf:{name} {tap} routed")} -j {chain}";
    }

    // The match part of a rule, in iptables-save's own order and spelling (0.0.0.0/0 is left out, a
    // single port has no ':').
    static IEnumerable<string> Match(SecurityRule r)
    {
        if (r.Source.PrefixLength > 0) yield return $"-s {r.Source}";
        var p = SecurityRule.Name(r.Protocol);
        if (r.Protocol is RuleProtocol.Tcp or RuleProtocol.Udp)
            yield return $"-p {p} -m {p} --dport {r.FromPort}" + (r.ToPort != r.FromPort ? $":{r.ToPort}" : "");
        else if (r.Protocol is RuleProtocol.Icmp)
            yield return r.IcmpType is { } type ? $"-p icmp -m icmp --icmp-type {type}" : "-p icmp";
    }

    static string Interface(string name, string errorId, string what)
    {
        try { return Names.ValidateBridgeName(name); }
        catch (VfException e) { throw new VfException(errorId, FailureKind.InvalidArgument, $"{what}: {e.Message}", name, e); }
    }

    static void Unique(IEnumerable<string> values, string errorId, string what)
    {
        if (values.GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw SecurityRule.Invalid(errorId, $"The {what} '{dup.Key}' is given more than once.");
    }
}
