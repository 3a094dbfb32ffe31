using System.Text;
using System.Text.RegularExpressions;

namespace VirtFleet.Networking;

/// <summary>
/// iptables-save/iptables-restore text: quoting a value the way iptables-save prints it (so a plan
/// compares equal to what the host reports), and picking VirtFleet's lines out of iptables-save output.
/// </summary>
public static partial class IptablesText
{
    /// <summary>Our chains: VF-FORWARD and VF-I-&lt;instance id&gt;; no other chain is ever touched.</summary>
    public const string ForwardChain = "VF-FORWARD";
    public const string InstanceChainPrefix = "VF-I-";
    /// <summary>The one rule of ours outside our chains, always the first rule of FORWARD.</summary>
    public const string Jump = "-A FORWARD -j " + ForwardChain;

    /// <summary>
    /// A value as iptables-save writes it (xtables_save_string): bare when it is only letters, digits,
    /// '_' and '-'; otherwise in double quotes with " \ ' escaped by a backslash, which iptables-restore
    /// reads back verbatim. Control characters (a newline would end the rule) and values over 255 bytes
    /// (the comment match's limit) are refused.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Any(char.IsControl) || Encoding.UTF8.GetByteCount(value) > 255)
            throw SecurityRule.Invalid("InvalidIptablesText", "An iptables comment must be at most 255 bytes without control characters.");
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')) return value;
        var sb = new StringBuilder("\"");
        foreach (var c in value) sb.Append(c is '"' or '\\' or '\'' ? "\\" : "").Append(c);
        return sb.Append('"').ToString();
    }

    public static bool IsOurChain(string chain) =>
        chain == ForwardChain || chain.StartsWith(InstanceChainPrefix, StringComparison.Ordinal);

    [GeneratedRegex(@"^:(\S+) \S+ \[\d+:\d+\]$")]
    private static partial Regex Declaration();

    /// <summary>
    /// Our part of `iptables-save -t filter` output in a canonical order: chain declarations (counters
    /// zeroed) sorted by name, then each chain's rules in their order, chains sorted by name. The jump
    /// from FORWARD is left out (see <see cref="JumpState"/>). Applied to a plan's own lines too.
    /// </summary>
    public static IReadOnlyList<string> Ours(IEnumerable<string> lines)
    {
        var chains = new List<string>();
        var rules = new List<(string Chain, string Line)>();
        foreach (var line in lines.Select(l => l.TrimEnd('\r')))
        {
            if (Declaration().Match(line) is { Success: true } m && IsOurChain(m.Groups[1].Value))
                chains.Add($":{m.Groups[1].Value} - [0:0]");
            else if (line.Split(' ', 3) is ["-A", var chain, _] && IsOurChain(chain))
                rules.Add((chain, line));
        }
        chains.Sort(StringComparer.Ordinal);
        return [.. chains, .. rules.OrderBy(r => r.Chain, StringComparer.Ordinal).Select(r => r.Line)];
    }

    /// <summary>How many jumps to our chain FORWARD holds and whether its first rule is one.</summary>
    public static (int Count, bool First) JumpState(IEnumerable<string> lines)
    {
        var forward = lines.Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("-A FORWARD ", StringComparison.Ordinal)).ToList();
        return (forward.Count(l => l == Jump), forward.FirstOrDefault() == Jump);
    }
}
