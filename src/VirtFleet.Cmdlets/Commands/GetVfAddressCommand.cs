using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the fleet's public addresses and the instances they are associated with.</para>
/// <example><code>Get-VfAddress</code></example>
/// <example><code>Get-VfAddress 203.0.113.2*</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfAddress")]
[OutputType(typeof(PublicAddress))]
public sealed class GetVfAddressCommand : VfNetworkCmdlet
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
        var read = ReadFleet(inv, Options(inv));
        foreach (var a in read.Fleet.Addresses.Where(a => (Address is null || Address.Any(x => Wildcard.IsMatch(a.Address, x)))
                     && (Instance is null || (a.Instance is { } i && Instance.Any(x => Wildcard.IsMatch(i, x))))))
            WriteObject(a);
        base.EndProcessing();
    }
}
