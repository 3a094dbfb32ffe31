using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the fleet's networks with their hosts, subnet, VXLAN id and address reservations.</para>
/// <para type="description">Reads the definitions from every host of the inventory (one round trip each) and shows the newest.</para>
/// <example><code>Get-VfNetwork</code></example>
/// <example><code>(Get-VfNetwork app).Reservations</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfNetwork")]
[OutputType(typeof(VfNetwork))]
public sealed class GetVfNetworkCommand : VfFleetCmdlet
{
    /// <summary>Network names (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Name { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        RunAsync(ct => NetworkOperations.GetAsync(Scope(inv), Name, ct, PostObject));
        base.EndProcessing();
    }
}
