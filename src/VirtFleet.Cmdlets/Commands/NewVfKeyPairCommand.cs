using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Makes a key pair for instances (ed25519, or RSA for Windows passwords); the private key is written for the owner only.</para>
/// <para type="description">Linux instances get the public key in their seed (ssh login). A Windows instance's first boot encrypts
/// its new administrator password to the key pair, which must then be RSA (as on EC2): Get-VfPassword decrypts it with the private
/// key. The private key stays in the local key pair folder: OpenSSH's format for ed25519, PEM (PKCS#1) for RSA.</para>
/// <example><code>New-VfKeyPair admin; New-VfInstance -Image vflinux -KeyPair admin</code></example>
/// <example><code>New-VfKeyPair winadmin -KeyType Rsa; New-VfInstance -Image win2k19 -KeyPair winadmin; Get-VfPassword win2k19-1 -Wait</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfKeyPair", SupportsShouldProcess = true)]
[OutputType(typeof(KeyPair))]
public sealed class NewVfKeyPairCommand : VfCmdlet
{
    /// <summary>The key pair's name (letters, digits, '.', '_', '-'); the private key is written to the local key pair folder under this name.</summary>
    [Parameter(Mandatory = true, Position = 0)] public string Name { get; set; } = "";
    /// <summary>The key's algorithm: Ed25519 (the default) or Rsa (2048 bits; what Windows instances need for their password).</summary>
    [Parameter] [ValidateSet("Ed25519", "Rsa")] public KeyType KeyType { get; set; } = KeyType.Ed25519;
    /// <summary>Replace a key pair of the same name.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        try { if (KeyPairOperations.Create(Reporter, Name, Force, KeyType) is { } pair) WriteObject(pair); }
        catch (VfException ex) { ThrowFailure(ex, Name); }
    }
}
