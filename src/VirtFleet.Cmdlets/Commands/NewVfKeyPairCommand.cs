using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Makes an ed25519 key pair for instances; the private key is written for the owner only.</para>
/// <example><code>New-VfKeyPair admin; New-VfInstance -Image vflinux -KeyPair admin</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfKeyPair", SupportsShouldProcess = true)]
[OutputType(typeof(KeyPair))]
public sealed class NewVfKeyPairCommand : VfCmdlet
{
    /// <summary>The key pair's name (letters, digits, '.', '_', '-'); the ed25519 private key is written to the local key pair folder under this name.</summary>
    [Parameter(Mandatory = true, Position = 0)] public string Name { get; set; } = "";
    /// <summary>Replace a key pair of the same name.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        try { if (KeyPairOperations.Create(Reporter, Name, Force) is { } pair) WriteObject(pair); }
        catch (VfException ex) { ThrowFailure(ex, Name); }
    }
}
