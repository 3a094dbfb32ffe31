using System.Management.Automation;
using VirtFleet.Libvirt;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Creates a network that instances join: a libvirt network on each of its hosts (Nat, Isolated), or an existing host bridge (Bridged).</para>
/// <para type="description">Nat and Isolated networks get a bridge vfn&lt;id&gt; with DHCP (libvirt's dnsmasq) on each host. With -Span the
/// hosts' bridges are joined by VXLAN (VNI = the network id, over the hosts' inventory addresses, one flood entry per other host) into
/// one LAN with one address plan: each host has its own gateway address, and each instance a stable address reserved for its MAC,
/// served only by its own host's dnsmasq. The definition is stored on every host (networks.json); re-running with the same
/// definition returns the existing network.</para>
/// <example><code>New-VfNetwork -Name app -Mode Nat -Subnet 203.0.113.128/28 -Span</code></example>
/// <example><code>New-VfNetwork -Name backend -Mode Isolated -Subnet 203.0.113.144/28 -Host vfh1, vfh2 -Span</code></example>
/// <example><code>New-VfNetwork -Name lan -Mode Bridged -Bridge br0</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(VfNetwork))]
public sealed class NewVfNetworkCommand : VfFleetCmdlet
{
    /// <summary>The network's name, unique in the fleet (letters, digits, '.', '_', '-').</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Name { get; set; } = "";

    /// <summary>Nat (private subnet, outbound NAT through each host), Isolated (private subnet, no way out) or Bridged (instances on an existing host bridge, -Bridge).</summary>
    [Parameter(Mandatory = true)]
    public NetworkMode Mode { get; set; }

    /// <summary>IPv4 subnet in CIDR form (Nat, Isolated): gateways of the hosts first, instances after.</summary>
    [Parameter]
    public string? Subnet { get; set; }

    /// <summary>Join the network's bridges on all its hosts with VXLAN into one LAN.</summary>
    [Parameter]
    public SwitchParameter Span { get; set; }

    /// <summary>Bridged: the existing host bridge on the physical network.</summary>
    [Parameter]
    public string? Bridge { get; set; }

    /// <summary>Free text shown by Get-VfNetwork. Default: none.</summary>
    [Parameter]
    public string? Description { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var request = new NewNetworkRequest(Name, Mode, SelectHosts(inv).Select(h => h.Name).ToList(), Subnet, Span, Bridge, Description);
        if (RunAsync(ct => NetworkOperations.NewAsync(Scope(inv), request, ct)) is { } network) WriteObject(network);
        base.EndProcessing();
    }
}
