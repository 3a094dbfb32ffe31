using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes inbound allow rules from a security group and re-applies the firewall wherever a member runs.</para>
/// <para type="description">The revoke is written with a new generation and applied on every host that answers. A host that does not
/// answer (or refuses the write) is an error (SecurityGroupsNotSaved) naming it: its older copy never brings the rule back when it
/// returns; run Repair-VfNetwork then to update its copy and its firewall.</para>
/// <example><code>Revoke-VfNetworkAccess -Group web -Protocol tcp -PortRange 80</code></example>
/// <example><code>Revoke-VfNetworkAccess web -Rule 'allow icmp from 0.0.0.0/0'</code></example>
/// </summary>
[Cmdlet(VerbsSecurity.Revoke, "VfNetworkAccess", SupportsShouldProcess = true, DefaultParameterSetName = ByParts)]
[OutputType(typeof(SecurityGroup))]
public sealed class RevokeVfNetworkAccessCommand : SecurityRuleCmdlet
{
    protected override bool Grant => false;
}
