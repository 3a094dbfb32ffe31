using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Forgets a key pair (and deletes its private key if VirtFleet made it). Instances keep their keys.</para>
/// <example><code>Remove-VfKeyPair old</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfKeyPair", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfKeyPairCommand : VfCmdlet
{
    /// <summary>The key pair to delete from the local key pair folder (instances already created keep their key).</summary>
    [ArgumentCompleter(typeof(KeyPairCompleter))]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)] public string Name { get; set; } = "";

    protected override void ProcessRecord() => KeyPairOperations.Remove(Reporter, Name);
}
