using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace VirtFleet.Networking;

public enum RuleProtocol { Tcp, Udp, Icmp, All }

/// <summary>
/// One inbound allow rule of a security group. Its compact form, parsed and printed here:
/// <c>allow tcp 22 from 0.0.0.0/0</c>, <c>allow udp 5000-5100 from 198.51.100.7/32</c>,
/// <c>allow icmp from 203.0.113.0/24</c>, <c>allow icmp 8 from 203.0.113.0/24</c> (an ICMP type),
/// <c>allow all from 198.51.100.0/24</c>. Rules are inbound only: "from" names the IPv4 source network.
/// Equal rules compare equal (a record), so a group can drop duplicates.
/// </summary>
public sealed partial record SecurityRule
{
    public RuleProtocol Protocol { get; }
    /// <summary>First and last destination port (tcp/udp only; equal for a single port).</summary>
    public int? FromPort { get; }
    public int? ToPort { get; }
    /// <summary>ICMP type 0-254, or null for every type (icmp only).</summary>
    public int? IcmpType { get; }
    /// <summary>The IPv4 source network.</summary>
    public IPNetwork Source { get; }

    public SecurityRule(RuleProtocol protocol, IPNetwork source, int? fromPort = null, int? toPort = null, int? icmpType = null)
    {
        if (source.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
            throw Invalid("InvalidRuleSource", $"Source {source} is not an IPv4 network; only IPv4 rules are supported.");
        toPort ??= fromPort;
        if (protocol is RuleProtocol.Tcp or RuleProtocol.Udp)
        {
            if (fromPort is null)
                throw Invalid("InvalidRulePort", $"A {Name(protocol)} rule needs a port or a range, e.g. 'allow {Name(protocol)} 22 from 0.0.0.0/0'.");
            if (fromPort is < 1 or > 65535 || toPort is < 1 or > 65535 || fromPort > toPort)
                throw Invalid("InvalidRulePort", $"Ports are 1-65535 and a range runs low to high; got {fromPort}-{toPort}.");
        }
        else if (fromPort is not null)
            throw Invalid("InvalidRulePort", $"Only tcp and udp rules take ports, not {Name(protocol)}.");
        if (icmpType is not null && protocol != RuleProtocol.Icmp)
            throw Invalid("InvalidIcmpType", "Only icmp rules take an ICMP type.");
        if (icmpType is < 0 or > 254)
            throw Invalid("InvalidIcmpType", $"ICMP type {icmpType} is not between 0 and 254.");
        (Protocol, Source, FromPort, ToPort, IcmpType) = (protocol, source, fromPort, toPort, icmpType);
    }

    public static SecurityRule Parse(string text)
    {
        if (text is null || text.Length > 200 || text.Any(c => char.IsControl(c) && c != '\t'))
            throw Syntax(text, "it must be one line of at most 200 characters");
        var t = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (t.Length is < 4 or > 5 || !t[0].Equals("allow", StringComparison.OrdinalIgnoreCase) || !t[^2].Equals("from", StringComparison.OrdinalIgnoreCase))
            throw Syntax(text, "expected 'allow <tcp|udp|icmp|all> [ports|icmp type] from <IPv4 CIDR>'");
        if (!Enum.TryParse<RuleProtocol>(t[1], ignoreCase: true, out var protocol) || !t[1].All(char.IsAsciiLetter))
            throw Syntax(text, $"'{t[1]}' is not a protocol (tcp, udp, icmp or all)");
        var source = ParseSource(t[^1]);
        var spec = t.Length == 5 ? t[2] : null;
        return (protocol, spec) switch
        {
            (_, null) => new(protocol, source),
            (RuleProtocol.Tcp or RuleProtocol.Udp, _) => ParsePorts(protocol, spec, source),
            (RuleProtocol.Icmp, _) => new(protocol, source, icmpType: Number(spec, "InvalidIcmpType", "an ICMP type")),
            _ => throw Invalid("InvalidRulePort", $"'{spec}': an 'all' rule takes no port or type."),
        };
    }

    public static bool TryParse(string text, out SecurityRule? rule)
    {
        try { rule = Parse(text); return true; }
        catch (VfException) { rule = null; return false; }
    }

    public override string ToString()
    {
        var spec = Protocol switch
        {
            RuleProtocol.Tcp or RuleProtocol.Udp => FromPort == ToPort ? $" {FromPort}" : $" {FromPort}-{ToPort}",
            RuleProtocol.Icmp when IcmpType is not null => $" {IcmpType}",
            _ => "",
        };
        return $"allow {Name(Protocol)}{spec} from {Source}";
    }

    public static string Name(RuleProtocol p) => p.ToString().ToLowerInvariant();

    static SecurityRule ParsePorts(RuleProtocol protocol, string spec, IPNetwork source)
    {
        var dash = spec.IndexOf('-');
        var from = Number(dash < 0 ? spec : spec[..dash], "InvalidRulePort", "a port");
        var to = dash < 0 ? from : Number(spec[(dash + 1)..], "InvalidRulePort", "a port");
        return new(protocol, source, from, to);
    }

    /// <summary>The canonical CIDR only: "203.0.113.0/24", not "203.0.113.9/24", "203.0.113.0", "0xcb.0.113.0/24" or IPv6.</summary>
    public static IPNetwork ParseSource(string text)
    {
        if (IPNetwork.TryParse(text, out var net) && net.BaseAddress.AddressFamily == AddressFamily.InterNetwork && net.ToString() == text)
            return net;
        throw Invalid("InvalidRuleSource",
            $"'{text}' is not an IPv4 network in CIDR form such as 203.0.113.0/24 or 198.51.100.7/32 (no bits set past the prefix).");
    }

    [GeneratedRegex(@"^(0|[1-9][0-9]{0,4})\z")]
    private static partial Regex Decimal();

    static int Number(string text, string errorId, string what) =>
        Decimal().IsMatch(text) ? int.Parse(text) : throw Invalid(errorId, $"'{text}' is not {what} (a decimal number).");

    static VfException Syntax(string? text, string why) =>
        Invalid("InvalidSecurityRule", $"'{text}' is not a security rule: {why}.");

    internal static VfException Invalid(string errorId, string message) => new(errorId, FailureKind.InvalidArgument, message);
}
