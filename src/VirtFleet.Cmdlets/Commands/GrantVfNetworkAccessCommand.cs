using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Adds inbound allow rules to a security group and re-applies the firewall wherever a member runs.</para>
/// <para type="description">ICMP is its own rule (-Protocol icmp, optionally -IcmpType). Rules RETURN to the FORWARD chain, so a group narrows
/// what reaches an instance and never opens what the network or the host's own policy keeps out (a public address opens its DNATed traffic).
/// Rules are IPv4 only: over IPv6 a member admits only replies and neighbour discovery. A change that does not reach every host
/// of the inventory is an error (SecurityGroupsNotSaved) naming the hosts that missed it; their older copy never overrides it.</para>
/// <example><code>Grant-VfNetworkAccess -Group web -Protocol tcp -PortRange 22 -Source 0.0.0.0/0</code></example>
/// <example><code>Grant-VfNetworkAccess web -Rule 'allow tcp 80 from 0.0.0.0/0', 'allow icmp from 198.51.100.0/24'</code></example>
/// </summary>
[Cmdlet(VerbsSecurity.Grant, "VfNetworkAccess", SupportsShouldProcess = true, DefaultParameterSetName = ByParts)]
[OutputType(typeof(SecurityGroup))]
public sealed class GrantVfNetworkAccessCommand : SecurityRuleCmdlet
{
    protected override bool Grant => true;
}
