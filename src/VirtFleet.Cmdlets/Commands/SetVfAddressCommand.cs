using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Associates a public address with an instance (moving it from another instance in the same call), or disassociates it.</para>
/// <para type="description">The address goes onto the outside interface of the instance's host; traffic to it is DNATed to the instance's
/// address in its network, and the instance's outgoing traffic leaves from it (SNAT), in VirtFleet's own nat chains (VF-PREROUTING,
/// VF-POSTROUTING) written atomically with iptables-restore --noflush. The instance's security groups still decide what gets in.
/// An instance holds at most one public address: one it held before is disassociated.</para>
/// <example><code>Set-VfAddress 203.0.113.200 -Instance web1</code></example>
/// <example><code>Set-VfAddress 203.0.113.200 -Instance web2   # moves it</code></example>
/// <example><code>Set-VfAddress 203.0.113.200 -Disassociate</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "VfAddress", SupportsShouldProcess = true, DefaultParameterSetName = Associate)]
[OutputType(typeof(PublicAddress))]
public sealed class SetVfAddressCommand : VfFleetCmdlet
{
    private const string Associate = "Associate";
    private const string Detach = "Disassociate";

    /// <summary>A public IPv4 address of the fleet's pool (New-VfAddress).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(AddressCompleter))]
    public string Address { get; set; } = "";

    /// <summary>The instance (name or id) to associate the address with.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = Associate)]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string Instance { get; set; } = "";

    /// <summary>The instance's network to forward to (default: its first network with a known address).</summary>
    [Parameter(ParameterSetName = Associate)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    /// <summary>Take the address off its instance and host; it stays in the fleet's pool.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Detach)]
    public SwitchParameter Disassociate { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var request = new SetAddressRequest(Address, Disassociate ? null : Instance, Network, Disassociate);
        if (RunAsync(ct => AddressOperations.SetAsync(Scope(inv), request, ct)) is { } address) WriteObject(address);
        base.EndProcessing();
    }
}
