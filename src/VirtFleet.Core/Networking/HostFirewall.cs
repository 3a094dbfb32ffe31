using System.Text;
using VirtFleet.HostScripts;
using VirtFleet.Transport;

namespace VirtFleet.Networking;

/// <summary>What an apply or remove did besides writing our chains.</summary>
public sealed record FirewallApplied(IReadOnlyList<string> RemovedChains, IReadOnlyList<string> KeptChains)
{
    /// <summary>Stale chains of ours left in place because a rule that is not ours still jumps to them.</summary>
    public IEnumerable<string> Warnings => KeptChains.Select(c => $"chain {c} is no longer used by VirtFleet but another rule jumps to it; left in place");
}

/// <summary>
/// Applies, removes and checks a <see cref="FirewallPlan"/> on a host (HostScripts/firewall.sh), one round trip each, under the
/// host lock every VirtFleet script that changes a host takes (the check takes it shared).
///
/// Apply is one iptables-restore --noflush transaction of the filter table (atomic: all or nothing):
/// declaring a chain flushes and rewrites it, so only our chains change. In the same transaction the
/// jump FORWARD -&gt; VF-FORWARD is made the first rule of FORWARD, exactly once: when it is not, every
/// copy is deleted and one inserted at position 1 (no moment without it, nothing else renumbered or
/// touched). libvirt inserts its own jumps at the top of FORWARD only when they are missing (network
/// start after a flush, a reboot); Docker or firewalld may too. Nothing agentless can keep position 1
/// between runs, so <see cref="CheckAsync"/> reports "not first" as drift and the next apply (any
/// security-group change, or a repair) puts it back. Then a second transaction deletes chains of ours
/// the plan no longer declares (instances gone), unless a foreign rule still jumps to one.
/// </summary>
public static class HostFirewall
{
    internal const string BridgeMarker = "@@VF-BRIDGE-NF@@";
    /// <summary>
    /// Prefix of the ip6tables lines in a check's output, after <see cref="Ip6ReadMarker"/> (absent when the kernel has
    /// no IPv6: nothing to compare).
    /// </summary>
    internal const string Ip6Marker = "@@VF-IP6@@ ", Ip6ReadMarker = "@@VF-IP6-READ@@";

    /// <summary>
    /// One family's apply (the plan's restore body on standard input) or remove (<paramref name="apply"/> false), under the
    /// host lock (firewall.sh): a typed step of a round trip; the chains it removed and those it kept.
    /// </summary>
    public static HostStep<FirewallApplied> ApplyStep(FirewallPlan plan, bool ipv6)
    {
        var script = HostScript.Load("firewall").Include("ip6read").Set("fam", ipv6 ? "ip6" : "ip").Set("mode", plan.InstallsJump ? "apply" : "remove");
        if (plan.InstallsJump) script.Input(Encoding.UTF8.GetBytes(ipv6 ? plan.RestoreBody6 : plan.RestoreBody));
        var what = (plan.InstallsJump ? "applying security groups" : "removing security-group chains") + (ipv6 ? " (IPv6)" : "");
        return script.Locked().Reads(r =>
        {
            Ensure(r, what);
            return new FirewallApplied(r.Lines("REMOVED").Select(l => l.Trim()).ToList(), r.Lines("KEPT").Select(l => l.Trim()).ToList());
        });
    }

    /// <summary>The read a check compares (firewall.sh, mode check, under the shared lock).</summary>
    public static HostStep<string> CheckStep() =>
        HostScript.Load("firewall").Include("ip6read").Set("fam", "ip").Set("mode", "check").Shared()
            .Reads(r => Ensure(r, "reading the filter table").Stdout);

    /// <summary>Makes the host's VF chains exactly the plan (<see cref="FirewallPlan.None"/> removes them all).</summary>
    public static async Task<FirewallApplied> ApplyAsync(IRemoteHost host, FirewallPlan plan, CancellationToken ct)
    {
        // IPv4 then IPv6, in one round trip; IPv6 only once IPv4 is in place.
        var batch = new HostBatch();
        var v4 = batch.Add(ApplyStep(plan, ipv6: false));
        var v6 = batch.Add(ApplyStep(plan, ipv6: true), onlyAfterSuccess: true);
        await batch.RunAsync(host, ct);
        var applied = v4.Value;
        _ = v6.Value;
        return applied;
    }

    public static Task<FirewallApplied> RemoveAsync(IRemoteHost host, CancellationToken ct) => ApplyAsync(host, FirewallPlan.None, ct);

    /// <summary>Compares the host's chains with the plan (for Test-VfHost and a repair).</summary>
    public static async Task<FirewallStatus> CheckAsync(IRemoteHost host, FirewallPlan plan, CancellationToken ct) =>
        FirewallStatus.Compare(plan, await CheckStep().RunAsync(host, ct));

    internal static HostReply Ensure(HostReply r, string what)
    {
        if (r.ExitCode == HostExit.ToolMissing)
            throw new VfException("IptablesMissing", FailureKind.ResourceUnavailable, $"{r.Host.Name}: {r.Stderr.Trim()}", r.Host.Name);
        return r.EnsureSuccess(what, "FirewallFailed");
    }
}

/// <summary>
/// How a host's chains differ from a plan; <see cref="InSync"/> when they do not. Warnings are about the
/// host rather than our chains (bridged traffic not passed to iptables) and do not count as drift.
/// </summary>
public sealed record FirewallStatus(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, bool Reordered,
    int Jumps, bool JumpFirst, bool JumpWanted, IReadOnlyList<string> Warnings, FirewallStatus? Ipv6 = null)
{
    public bool InSync => Missing.Count == 0 && Unexpected.Count == 0 && !Reordered && Jumps == (JumpWanted ? 1 : 0) && (JumpFirst || !JumpWanted)
                          && Ipv6?.InSync != false;

    /// <summary>One line per difference, for a report.</summary>
    public IEnumerable<string> Problems =>
        Missing.Select(l => "missing: " + l)
            .Concat(Unexpected.Select(l => "unexpected: " + l))
            .Concat(Reordered ? ["rules of our chains are out of order"] : [])
            .Concat(JumpWanted && Jumps == 0 ? ["FORWARD does not jump to VF-FORWARD"] : [])
            .Concat(JumpWanted && Jumps > 0 && !JumpFirst ? ["the jump to VF-FORWARD is not the first rule of FORWARD"] : [])
            .Concat(Jumps > (JumpWanted ? 1 : 0) ? [$"FORWARD jumps to VF-FORWARD {Jumps} times"] : [])
            .Concat(Ipv6?.Problems.Select(p => "ip6tables: " + p) ?? []);

    /// <summary>
    /// The plan against the check script's output (or whole iptables-save output); its ip6tables lines (after
    /// <see cref="HostFirewall.Ip6Marker"/>) against the plan's IPv6 part, unless the host has no IPv6 or the output has none.
    /// </summary>
    public static FirewallStatus Compare(FirewallPlan plan, string checkOutput)
    {
        var all = checkOutput.Split('\n');
        var v6 = all.Where(l => l.StartsWith(HostFirewall.Ip6Marker, StringComparison.Ordinal)).Select(l => l[HostFirewall.Ip6Marker.Length..]).ToList();
        var withIpv6 = all.Any(l => l.Trim() == HostFirewall.Ip6ReadMarker);
        var status = Compare(plan.Lines, all.Where(l => !l.StartsWith(HostFirewall.Ip6Marker, StringComparison.Ordinal)).ToArray(), plan);
        return withIpv6 ? status with { Ipv6 = Compare(plan.Lines6, [.. v6], plan) with { Warnings = [] } } : status;
    }

    static FirewallStatus Compare(IReadOnlyList<string> planLines, string[] lines, FirewallPlan plan)
    {
        var live = IptablesText.Ours(lines);
        var want = IptablesText.Ours(planLines);
        var (jumps, first) = IptablesText.JumpState(lines);
        var missing = MultisetExcept(want, live);
        var unexpected = MultisetExcept(live, want);
        var reordered = missing.Count == 0 && unexpected.Count == 0 && !want.SequenceEqual(live);
        var bridged = lines.FirstOrDefault(l => l.StartsWith(HostFirewall.BridgeMarker + " ", StringComparison.Ordinal))?[(HostFirewall.BridgeMarker.Length + 1)..].Trim();
        IReadOnlyList<string> warnings = bridged is null or "1" || !plan.Rules.Any(r => r.Contains("--physdev-is-bridged"))
            ? []
            : [$"net.bridge.bridge-nf-call-iptables is {bridged}: traffic bridged between guests is not filtered (load br_netfilter and set it to 1)"];
        return new FirewallStatus(missing, unexpected, reordered, jumps, first, plan.InstallsJump, warnings);
    }

    static List<string> MultisetExcept(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var left = b.GroupBy(x => x, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var x in a)
            if (left.TryGetValue(x, out var k) && k > 0) left[x] = k - 1;
            else result.Add(x);
        return result;
    }
}
