using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Grant- and Revoke-VfNetworkAccess: a rule given as -Rule text or as -Protocol/-PortRange/-Source, changed in a
/// group on every host, then the firewall re-applied on every host where a member of the group runs.
/// </summary>
public abstract class SecurityRuleCmdlet : VfNetworkCmdlet
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
        List<SecurityRule> rules;
        try
        {
            rules = ParameterSetName == ByText
                ? Rule.Select(SecurityRule.Parse).ToList()
                : [SecurityRule.Parse(string.Join(' ', new[] { "allow", SecurityRule.Name(Protocol), PortRange ?? IcmpType?.ToString() ?? "", "from", Source }.Where(s => s.Length > 0)))];
            SecurityGroup.ValidateName(Group);
        }
        catch (VfException ex) { ThrowFailure(ex, Group); return; }
        var inv = LoadInventory();
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        var group = read.Fleet.FindGroup(Group);
        if (group is null) { ThrowFailure(NotFound("SecurityGroup", Group), Group); return; }
        var changed = Grant ? group.With(rules) : group.Without(rules);
        if (changed.Rules.SequenceEqual(group.Rules))
        {
            WriteVerbose($"security group {Group} already {(Grant ? "has" : "lacks")} {string.Join("; ", rules)}");
        }
        else
        {
            if (!ShouldProcess($"{Group}: {string.Join("; ", rules)}", Grant ? "Grant network access" : "Revoke network access")) return;
            var groups = read.Fleet.Groups.Select(g => g.Name == Group ? changed : g).ToList();
            SaveGroups(read, options, groups);
            Reconcile(read, With(read.Fleet, groups: groups), HostsWithMembers(read, Group), options, useKnownState: true, checkOnly: false);
        }
        if (PassThru) WriteObject(changed);
        base.EndProcessing();
    }
}
