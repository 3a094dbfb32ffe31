using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Grant- and Revoke-VfNetworkAccess: the parameters of a rule, given as -Rule text or as -Protocol/-PortRange/-Source;
/// <see cref="SecurityGroupOperations"/> changes the group on every host and re-applies the firewall where a member runs.
/// </summary>
public abstract class SecurityRuleCmdlet : VfFleetCmdlet
{
    protected const string ByParts = "ByParts";
    protected const string ByText = "ByText";

    /// <summary>The security group whose rules change (New-VfSecurityGroup).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(SecurityGroupCompleter))]
    public string Group { get; set; } = "";

    /// <summary>The rule's protocol: Tcp, Udp, Icmp or All (every protocol; then no port or ICMP type).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByParts)]
    public RuleProtocol Protocol { get; set; }

    /// <summary>Tcp and Udp only: one port or a range FIRST-LAST, e.g. 22 or 5000-5100. Default: every port.</summary>
    [Parameter(ParameterSetName = ByParts)]
    public string? PortRange { get; set; }

    /// <summary>An ICMP type (icmp only); all types when left out.</summary>
    [Parameter(ParameterSetName = ByParts)]
    [ValidateRange(0, 254)]
    public int? IcmpType { get; set; }

    /// <summary>The IPv4 source network in CIDR form. Default: 0.0.0.0/0 (anywhere).</summary>
    [Parameter(ParameterSetName = ByParts)]
    public string Source { get; set; } = "0.0.0.0/0";

    /// <summary>Rules in their compact form, e.g. 'allow tcp 22 from 0.0.0.0/0'.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByText)]
    public string[] Rule { get; set; } = [];

    /// <summary>Return the security group as it is afterwards.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected abstract bool Grant { get; }

    protected override void EndProcessing()
    {
        // -Protocol/-PortRange/-IcmpType/-Source are one rule in its compact form; the operation parses it with the others.
        IReadOnlyList<string> rules = ParameterSetName == ByText ? Rule
            : [string.Join(' ', new[] { "allow", SecurityRule.Name(Protocol), PortRange ?? IcmpType?.ToString() ?? "", "from", Source }.Where(s => s.Length > 0))];
        var inv = LoadInventory();
        var request = new SecurityRulesRequest(Group, rules);
        var group = RunAsync(ct => Grant ? SecurityGroupOperations.GrantAsync(Scope(inv), request, ct) : SecurityGroupOperations.RevokeAsync(Scope(inv), request, ct));
        if (PassThru && group is not null) WriteObject(group);
        base.EndProcessing();
    }
}
