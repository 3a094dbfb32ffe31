using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Allocates a public address from the fleet's pool (Set-VfAddress then puts it on an instance).</para>
/// <para type="description">-Pool sets or extends the pool (ranges such as 203.0.113.200-203.0.113.220); without -Address the lowest free
/// address of the pool is taken. An unassociated address is on no host; associated, it sits as a /32 on the outside interface
/// of its instance's host: the interface of that host's default route (Test-VfHost shows it as OutsideInterface), or -Interface.</para>
/// <example><code>New-VfAddress -Pool 203.0.113.200-203.0.113.220</code></example>
/// <example><code>New-VfAddress -Address 203.0.113.205 -Interface bond0</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfAddress", SupportsShouldProcess = true)]
[OutputType(typeof(PublicAddress))]
public sealed class NewVfAddressCommand : VfFleetCmdlet
{
    /// <summary>A specific address (added to the pool when outside it).</summary>
    [Parameter(Position = 0)]
    public string? Address { get; set; }

    /// <summary>Address ranges to add to the fleet's pool.</summary>
    [Parameter]
    public string[] Pool { get; set; } = [];

    /// <summary>The interface the address sits on, on whichever host its instance runs (default: each host's own outside interface, the one its default route uses).</summary>
    [Parameter]
    public string? Interface { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var request = new NewAddressRequest(Address, Pool, Interface);
        if (RunAsync(ct => AddressOperations.NewAsync(Scope(inv), request, ct)) is { } address) WriteObject(address);
        base.EndProcessing();
    }
}
