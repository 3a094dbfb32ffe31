using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists key pairs with their SHA256 fingerprints.</para>
/// <example><code>Get-VfKeyPair</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfKeyPair")]
[OutputType(typeof(KeyPair))]
public sealed class GetVfKeyPairCommand : VfCmdlet
{
    /// <summary>Key pair names (wildcards allowed). Default: every key pair in the local key pair folder.</summary>
    [ArgumentCompleter(typeof(KeyPairCompleter))]
    [Parameter(Position = 0)] [SupportsWildcards] public string[]? Name { get; set; }

    protected override void ProcessRecord() => KeyPairOperations.List(Reporter, Name, found => WriteObject(found, enumerateCollection: true));
}
