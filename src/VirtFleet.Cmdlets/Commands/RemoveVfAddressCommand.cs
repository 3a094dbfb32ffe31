using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Releases public addresses: disassociates them (the address and its DNAT/SNAT rules leave the host) and returns them to the pool.</para>
/// <example><code>Remove-VfAddress 203.0.113.200</code></example>
/// <example><code>Get-VfAddress | Where-Object { -not $_.Associated } | Remove-VfAddress</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfAddress", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfAddressCommand : VfFleetCmdlet
{
    /// <summary>Public IPv4 addresses to release from the fleet (an associated one is disassociated first).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(AddressCompleter))]
    public string[] Address { get; set; } = [];

    private readonly List<string> _addresses = [];

    protected override void ProcessRecord() => _addresses.AddRange(Address);

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        RunAsync(ct => AddressOperations.RemoveAsync(Scope(inv), _addresses, ct));
        base.EndProcessing();
    }
}
