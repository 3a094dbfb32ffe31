using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Releases public addresses: disassociates them (the address and its DNAT/SNAT rules leave the host) and returns them to the pool.</para>
/// <example><code>Remove-VfAddress 203.0.113.200</code></example>
/// <example><code>Get-VfAddress | Where-Object { -not $_.Associated } | Remove-VfAddress</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfAddress", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfAddressCommand : VfNetworkCmdlet
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
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        var addresses = read.Fleet.Addresses.ToList();
        var hosts = new HashSet<string>();
        foreach (var a in _addresses.Distinct())
        {
            var found = addresses.FirstOrDefault(x => x.Address == a);
            if (found is null) { WriteFailure(NotFound("Address", a), a); continue; }
            if (!ShouldProcess(a + (found.Instance is null ? "" : $" (on {found.Instance})"), "Release public address")) continue;
            addresses.Remove(found);
            if (found.Host is not null) hosts.Add(found.Host);
        }
        if (addresses.Count == read.Fleet.Addresses.Count) { base.EndProcessing(); return; }
        // Pool addresses on a host that no instance holds are removed by the reconcile.
        SaveAddresses(read, options, read.Fleet.Pool, addresses);
        Reconcile(read, With(read.Fleet, addresses: addresses), hosts, options, useKnownState: true, checkOnly: false);
        base.EndProcessing();
    }
}
