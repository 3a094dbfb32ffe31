namespace VirtFleet.Networking;

/// <summary>
/// The complete content of VirtFleet's chains in the filter table, in the exact form iptables-save
/// prints (so a host's state can be compared line by line). Apply with <see cref="HostFirewall"/>.
/// </summary>
public sealed class FirewallPlan
{
    /// <summary>Our chains, sorted; VF-FORWARD first. Empty for <see cref="None"/>.</summary>
    public IReadOnlyList<string> Chains { get; }
    /// <summary>The "-A VF-..." rules, chain by chain.</summary>
    public IReadOnlyList<string> Rules { get; }
    /// <summary>What the planner noticed but planned around (an unknown group: that instance admits only replies).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// The same chains in ip6tables' filter table: security group rules are IPv4 only, so over IPv6 a filtered
    /// instance admits only replies and neighbour discovery (router, neighbour solicitation and advertisement):
    /// nothing new reaches it over IPv6 (SLAAC addresses included) while its own IPv6 traffic still works.
    /// </summary>
    public IReadOnlyList<string> Rules6 { get; }

    internal FirewallPlan(IReadOnlyList<string> chains, IReadOnlyList<string> rules, IReadOnlyList<string> warnings, IReadOnlyList<string>? rules6 = null) =>
        (Chains, Rules, Warnings, Rules6) = (chains, rules, warnings, rules6 ?? []);

    /// <summary>Nothing of ours: applying it removes the jump and every VF- chain (both families).</summary>
    public static FirewallPlan None { get; } = new([], [], []);

    /// <summary>Whether the plan wants the jump from FORWARD to VF-FORWARD (every plan but <see cref="None"/>).</summary>
    public bool InstallsJump => Chains.Count > 0;

    /// <summary>Declarations and rules, one per line: the body of a "*filter ... COMMIT" restore file.</summary>
    public IReadOnlyList<string> Lines => [.. Chains.Select(c => $":{c} - [0:0]"), .. Rules];

    /// <summary>What the apply script reads on its standard input.</summary>
    public string RestoreBody => string.Concat(Lines.Select(l => l + "\n"));

    /// <summary>Declarations and rules of the ip6tables filter table (the same chains; see <see cref="Rules6"/>).</summary>
    public IReadOnlyList<string> Lines6 => [.. Chains.Select(c => $":{c} - [0:0]"), .. Rules6];

    /// <summary>What the IPv6 apply script reads on its standard input.</summary>
    public string RestoreBody6 => string.Concat(Lines6.Select(l => l + "\n"));

    /// <summary>The plan as a standalone restore file (for display; the apply script adds the jump and stale chains).</summary>
    public override string ToString() => "*filter\n" + RestoreBody + "COMMIT\n";
}
