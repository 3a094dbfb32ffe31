using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Creates a security group: a named set of inbound allow rules that instances join (New-VfInstance -SecurityGroup).</para>
/// <para type="description">An instance in one or more groups admits replies to its own traffic and what one of its groups allows; everything
/// else inbound is dropped, from the instance's first packet (it starts paused until its chains are in place). Rules are IPv4; over IPv6 a
/// member admits only replies and neighbour discovery (VirtFleet's own ip6tables chains), so nothing new reaches it over IPv6, SLAAC
/// addresses included. The group is stored on every host (groups.json, with a generation: the newest copy wins, and a change that
/// does not reach every host is an error naming the hosts that missed it).</para>
/// <example><code>New-VfSecurityGroup web -Description 'public web' -Rule 'allow tcp 80 from 0.0.0.0/0', 'allow icmp from 0.0.0.0/0'</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfSecurityGroup", SupportsShouldProcess = true)]
[OutputType(typeof(SecurityGroup))]
public sealed class NewVfSecurityGroupCommand : VfFleetCmdlet
{
    /// <summary>The group's name, unique in the fleet (letters, digits, '.', '_', '-').</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Name { get; set; } = "";

    /// <summary>Free text shown by Get-VfSecurityGroup. Default: none.</summary>
    [Parameter]
    public string? Description { get; set; }

    /// <summary>Rules in their compact form, e.g. 'allow tcp 22 from 198.51.100.0/24'.</summary>
    [Parameter]
    public string[] Rule { get; set; } = [];

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var request = new NewSecurityGroupRequest(Name, Description, Rule);
        if (RunAsync(ct => SecurityGroupOperations.NewAsync(Scope(inv), request, ct)) is { } group) WriteObject(group);
        base.EndProcessing();
    }
}
