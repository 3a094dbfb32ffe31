using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the fleet's public addresses and the instances they are associated with.</para>
/// <example><code>Get-VfAddress</code></example>
/// <example><code>Get-VfAddress 203.0.113.2*</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfAddress")]
[OutputType(typeof(PublicAddress))]
public sealed class GetVfAddressCommand : VfFleetCmdlet
{
    /// <summary>Public IPv4 addresses to list (wildcards allowed, e.g. 203.0.113.2*). Default: all of the fleet's.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(AddressCompleter))]
    public string[]? Address { get; set; }

    /// <summary>Only addresses associated with these instances.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[]? Instance { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        foreach (var a in RunAsync(ct => AddressOperations.GetAsync(Scope(inv), Address, Instance, ct))) WriteObject(a);
        base.EndProcessing();
    }
}
