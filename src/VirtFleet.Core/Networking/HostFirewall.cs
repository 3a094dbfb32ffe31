using System.Text;
using VirtFleet.Transport;

namespace VirtFleet.Networking;

/// <summary>What an apply or remove did besides writing our chains.</summary>
public sealed record FirewallApplied(IReadOnlyList<string> RemovedChains, IReadOnlyList<string> KeptChains)
{
    /// <summary>Stale chains of ours left in place because a rule that is not ours still jumps to them.</summary>
    public IEnumerable<string> Warnings => KeptChains.Select(c => $"chain {c} is no longer used by VirtFleet but another rule jumps to it; left in place");
}

/// <summary>
/// Applies, removes and checks a <see cref="FirewallPlan"/> on a host, one round trip each, under the
/// host lock every VirtFleet script takes (<see cref="HostLock"/>; the check takes it shared).
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
    const string Prelude = """
        set -f
        for t in iptables-save iptables-restore; do
          command -v "$t" >/dev/null 2>&1 || { echo "$t is not installed on this host" >&2; exit 69; }
        done
        J='-A FORWARD -j VF-FORWARD'
        live=$(iptables-save -t filter) || exit 1
        n=$(printf '%s\n' "$live" | grep -cxF -e "$J")
        vf_ours() { printf '%s\n' "$1" | sed -n -e 's/^:\(VF-FORWARD\) .*/\1/p' -e 's/^:\(VF-I-[A-Za-z0-9_-]*\) .*/\1/p'; }
        vf_unjump() { i=0; while [ "$i" -lt "$n" ]; do echo '-D FORWARD -j VF-FORWARD'; i=$((i+1)); done; }
        vf_restore() { iptables-restore -w --noflush || { echo "iptables-restore failed ($1); the filter table is as it was" >&2; exit 1; }; }

        """;

    const string Apply = """
        plan=$(cat) || exit 1
        first=$(printf '%s\n' "$live" | grep -m1 '^-A FORWARD ')
        {
          echo '*filter'
          printf '%s\n' "$plan"
          if [ "$first" != "$J" ] || [ "$n" -ne 1 ]; then vf_unjump; echo '-I FORWARD 1 -j VF-FORWARD'; fi
          echo COMMIT
        } | vf_restore 'writing our chains' || exit 1

        """;

    const string Remove = """
        plan=''
        chains=$(vf_ours "$live")
        if [ "$n" -gt 0 ] || [ -n "$chains" ]; then
          { echo '*filter'; vf_unjump; for c in $chains; do echo "-F $c"; done; echo COMMIT; } | vf_restore 'emptying our chains' || exit 1
        fi

        """;

    // Chains of ours the plan does not declare: deleted when nothing jumps to them any more.
    const string Prune = """
        live=$(iptables-save -t filter) || exit 1
        stale=''
        for c in $(vf_ours "$live"); do
          printf '%s\n' "$plan" | grep -qxF -e ":$c - [0:0]" && continue
          if printf '%s\n' "$live" | grep -qE -e "-[jg] $c( |\$)"; then echo "@@VF-KEPT@@ $c"; continue; fi
          stale="$stale $c"
        done
        if [ -n "$stale" ]; then
          { echo '*filter'; for c in $stale; do echo "-F $c"; done; for c in $stale; do echo "-X $c"; done; echo COMMIT; } \
            | vf_restore 'deleting stale chains' || exit 1
          for c in $stale; do echo "@@VF-REMOVED@@ $c"; done
        fi
        exit 0
        """;

    internal const string BridgeMarker = "@@VF-BRIDGE-NF@@";
    /// <summary>
    /// Prefix of the ip6tables lines in a check's output, after <see cref="Ip6ReadMarker"/> (absent when the kernel has
    /// no IPv6: nothing to compare).
    /// </summary>
    internal const string Ip6Marker = "@@VF-IP6@@ ", Ip6ReadMarker = "@@VF-IP6-READ@@";

    /// <summary>Shell text printing our ip6tables filter lines, each after <see cref="Ip6Marker"/> (for a check or a read).</summary>
    internal const string Ip6Lines = """
        if [ -e /proc/net/if_inet6 ]; then echo '@@VF-IP6-READ@@'; ip6tables-save -t filter 2>/dev/null | grep -E '^(:VF-|-A VF-|-A FORWARD )' | sed 's/^/@@VF-IP6@@ /'; fi
        """;

    const string Check = """
        printf '%s\n' "$live" | grep -E '^(:VF-|-A VF-|-A FORWARD )'
        echo "@@VF-BRIDGE-NF@@ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)"
        """ + "\n" + Ip6Lines + "\nexit 0\n";

    /// <summary>Reads the plan's <see cref="FirewallPlan.RestoreBody"/> on standard input. Run it under the host lock.</summary>
    public static string ApplyScript => Prelude + Apply + Prune;
    /// <summary>Removes our chains. Run it under the host lock.</summary>
    public static string RemoveScript => Prelude + Remove + Prune;
    /// <summary>Prints the lines of `iptables-save -t filter` that <see cref="FirewallStatus.Compare"/> needs; changes nothing.</summary>
    public static string CheckScript => Prelude + Check;

    /// <summary>
    /// The same apply and remove in ip6tables' filter table (our chains there carry <see cref="FirewallPlan.Rules6"/>);
    /// a kernel without IPv6 has nothing to filter. Run them under the host lock.
    /// </summary>
    public static string ApplyScript6 => Six(ApplyScript);
    public static string RemoveScript6 => Six(RemoveScript);

    static string Six(string script) =>
        "[ -e /proc/net/if_inet6 ] || exit 0\n" + script.Replace("iptables-save", "ip6tables-save").Replace("iptables-restore", "ip6tables-restore");

    /// <summary>Makes the host's VF chains exactly the plan (<see cref="FirewallPlan.None"/> removes them all).</summary>
    public static async Task<FirewallApplied> ApplyAsync(IRemoteHost host, FirewallPlan plan, CancellationToken ct)
    {
        var r = plan.InstallsJump
            ? await HostLock.RunAsync(host, ApplyScript, ct, Encoding.UTF8.GetBytes(plan.RestoreBody))
            : await HostLock.RunAsync(host, RemoveScript, ct);
        Ensure(host, r, plan.InstallsJump ? "applying security groups" : "removing security-group chains");
        var r6 = plan.InstallsJump
            ? await HostLock.RunAsync(host, ApplyScript6, ct, Encoding.UTF8.GetBytes(plan.RestoreBody6))
            : await HostLock.RunAsync(host, RemoveScript6, ct);
        Ensure(host, r6, plan.InstallsJump ? "applying security groups (IPv6)" : "removing security-group chains (IPv6)");
        return new FirewallApplied(Marked(r.Stdout, "@@VF-REMOVED@@"), Marked(r.Stdout, "@@VF-KEPT@@"));
    }

    public static Task<FirewallApplied> RemoveAsync(IRemoteHost host, CancellationToken ct) => ApplyAsync(host, FirewallPlan.None, ct);

    /// <summary>Compares the host's chains with the plan (for Test-VfHost and a repair).</summary>
    public static async Task<FirewallStatus> CheckAsync(IRemoteHost host, FirewallPlan plan, CancellationToken ct)
    {
        var r = await HostLock.RunAsync(host, CheckScript, ct, shared: true);
        Ensure(host, r, "reading the filter table");
        return FirewallStatus.Compare(plan, r.Stdout);
    }

    static void Ensure(IRemoteHost host, CommandResult r, string what)
    {
        if (r.ExitCode == 69)
            throw new VfException("IptablesMissing", FailureKind.ResourceUnavailable, $"{host.Host.Name}: {r.Stderr.Trim()}", host.Host.Name);
        r.EnsureSuccess(host.Host.Name, what, "FirewallFailed");
    }

    static IReadOnlyList<string> Marked(string stdout, string marker) =>
        stdout.Split('\n').Where(l => l.StartsWith(marker + " ", StringComparison.Ordinal)).Select(l => l[(marker.Length + 1)..].Trim()).ToList();
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
