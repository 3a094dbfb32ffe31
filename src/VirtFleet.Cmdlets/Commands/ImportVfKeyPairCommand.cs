using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Records an existing OpenSSH public key as a key pair for instances.</para>
/// <example><code>Import-VfKeyPair admin -PublicKeyFile ~/.ssh/id_ed25519.pub</code></example>
/// </summary>
[Cmdlet(VerbsData.Import, "VfKeyPair", SupportsShouldProcess = true, DefaultParameterSetName = FromFile)]
[OutputType(typeof(KeyPair))]
public sealed class ImportVfKeyPairCommand : VfCmdlet
{
    private const string FromFile = "FromFile";
    private const string FromText = "FromText";

    /// <summary>The key pair's name in VirtFleet (letters, digits, '.', '_', '-'), as New-VfInstance -KeyPair names it.</summary>
    [Parameter(Mandatory = true, Position = 0)] public string Name { get; set; } = "";
    /// <summary>An OpenSSH public key file (one line: type, base64 key, optional comment), e.g. ~/.ssh/id_ed25519.pub.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FromFile)] public string PublicKeyFile { get; set; } = "";
    /// <summary>The OpenSSH public key itself as text, e.g. 'ssh-ed25519 AAAA... admin@example'.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromText)] public string PublicKey { get; set; } = "";
    /// <summary>Replace a key pair of the same name (instances already created keep the key they were given).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var pair = ParameterSetName == FromFile
                ? KeyPairOperations.Import(Reporter, Name, null, GetUnresolvedProviderPathFromPSPath(PublicKeyFile), Force)
                : KeyPairOperations.Import(Reporter, Name, PublicKey, null, Force);
            if (pair is not null) WriteObject(pair);
        }
        catch (Exception ex) when (ex is VfException or IOException) { ThrowFailure(ex, Name); }
    }
}
