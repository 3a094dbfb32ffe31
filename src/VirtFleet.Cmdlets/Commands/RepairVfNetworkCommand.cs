using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Finds and fixes what a host lost of the fleet's networking: libvirt networks and dnsmasq, bridges, VXLAN links and flood entries, taps outside their bridge, DHCP reservations, public addresses, and VirtFleet's iptables chains.</para>
/// <para type="description">One read per host, then one round trip that re-applies only what differs (after a reboot, a libvirtd restart,
/// a flush of our chains). Running it again changes nothing. Returns one report per host: the problems found and the changes made.
/// With -WhatIf it only reports.</para>
/// <example><code>Repair-VfNetwork</code></example>
/// <example><code>Repair-VfNetwork -Host vfh2 -Verbose</code></example>
/// <example><code>Repair-VfNetwork -WhatIf | Where-Object { -not $_.InSync }</code></example>
/// <example><code>Repair-VfNetwork -Host vfh1 -Force</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "VfNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(NetworkHostReport))]
public sealed class RepairVfNetworkCommand : VfFleetCmdlet
{
    /// <summary>Rewrite VirtFleet's nat and filter chains even where they look right (they come out the same).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var request = new RepairNetworkRequest(SelectHosts(inv).Select(h => h.Name).Distinct().ToList(), Force);
        RunAsync(ct => NetworkOperations.RepairAsync(Scope(inv), request, ct, PostObject));
        base.EndProcessing();
    }
}
