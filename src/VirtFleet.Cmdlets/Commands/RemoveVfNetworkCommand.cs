using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Transport;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes a network: its libvirt network and VXLAN link on each of its hosts, and its definition.</para>
/// <para type="description">Refused while an instance uses it (a NIC on it or an address reserved in it). Bridged networks leave the host bridge alone.</para>
/// <example><code>Remove-VfNetwork app</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfNetworkCommand : VfFleetCmdlet
{
    /// <summary>Names of VirtFleet networks to remove (from every host).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = [];

    private readonly List<string> _names = [];

    protected override void ProcessRecord() => _names.AddRange(Name);

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        RunAsync(ct => NetworkOperations.RemoveAsync(Scope(inv), _names, ct));
        base.EndProcessing();
    }
}
