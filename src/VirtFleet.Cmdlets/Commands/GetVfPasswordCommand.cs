using System.Management.Automation;
using System.Security;
using VirtFleet.KeyPairs;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Gets a Windows instance's administrator password: read encrypted from its console on the host, decrypted here with the key pair's private key.</para>
/// <para type="description">At its first boot a Windows instance made with an RSA key pair (New-VfKeyPair -KeyType Rsa) gives its
/// built-in administrator a random password and writes it to its serial console, encrypted to that key pair (EC2's get-password,
/// without a metadata service). Get-VfPassword reads the console log on the instance's host and decrypts the password on this
/// machine: the host only ever holds ciphertext. The private key is the key pair's own from the local key pair folder, or -KeyFile
/// (OpenSSH or PEM format, not passphrase-protected). Until the first boot has written it, the result is a PasswordNotAvailable
/// error; -Wait looks again until it is there. The result carries a PSCredential for Enter-PSSession, New-PSDrive or an RDP client.</para>
/// <example><code>$cred = (Get-VfPassword win-1 -Wait).Credential</code></example>
/// <example><code>Get-VfInstance win-* | Get-VfPassword -KeyFile ~/.ssh/winadmin.pem</code></example>
/// <example><code>Get-VfPassword win-1 -Encrypted | ConvertTo-Json</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfPassword", DefaultParameterSetName = ByName)]
[OutputType(typeof(InstancePassword), typeof(string))]
public sealed class GetVfPasswordCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject", ByName = "ByName";

    /// <summary>Windows instances as Get-VfInstance returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>The private key to decrypt with (OpenSSH or PEM format); by default the instance's key pair's own private key from the local key pair folder.</summary>
    [Parameter] public string? KeyFile { get; set; }

    /// <summary>Wait for instances whose first boot has not written the password yet, up to -WaitTimeout.</summary>
    [Parameter] public SwitchParameter Wait { get; set; }

    /// <summary>Seconds -Wait waits at most (default 1200: a Windows first boot under emulation is slow).</summary>
    [Parameter] [ValidateRange(1, 86400)] public int WaitTimeout { get; set; } = 1200;

    /// <summary>Return the password itself as a plain string, one per instance, instead of an object with a credential.</summary>
    [Parameter] public SwitchParameter AsPlainText { get; set; }

    /// <summary>Do not decrypt: return the encrypted password only (no private key needed; what a report or a vault stores).</summary>
    [Parameter] public SwitchParameter Encrypted { get; set; }

    private readonly List<Instance> _targets = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Name);
    }

    protected override void EndProcessing()
    {
        if (AsPlainText && Encrypted)
            ThrowFailure(new VfException("ParameterConflict", FailureKind.InvalidArgument, "Give -AsPlainText or -Encrypted, not both."));
        string? keyText = null;
        try { if (KeyFile is not null) keyText = ReadKeyFile(GetUnresolvedProviderPathFromPSPath(KeyFile)); }
        catch (VfException ex) { ThrowFailure(ex, KeyFile); }
        var inv = LoadInventory(_targets.Select(t => t.Inventory));
        var request = new PasswordRequest
        {
            Instances = _targets, Names = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            Wait = Wait ? TimeSpan.FromSeconds(WaitTimeout) : TimeSpan.Zero,
        };
        var scope = Scope(inv);
        RunAsync(ct => PasswordOperations.RunAsync(scope, request, ct, found => Post(() => Write(found, keyText))));
        base.EndProcessing();
    }

    private void Write(InstancePasswordData found, string? keyText)
    {
        var (instance, data) = found;
        if (Encrypted)
        {
            WriteObject(new InstancePassword { Name = instance.Name, Host = instance.Host, UserName = data.UserName, EncryptedPassword = data.EncryptedPassword });
            return;
        }
        try
        {
            var clear = data.Decrypt(keyText ?? ReadKeyFile(KeyPairFile(instance)));
            if (AsPlainText) { WriteObject(clear); return; }
            var secure = new SecureString();
            foreach (var c in clear) secure.AppendChar(c);
            secure.MakeReadOnly();
            WriteObject(new InstancePassword
            {
                Name = instance.Name, Host = instance.Host, UserName = data.UserName,
                Credential = new PSCredential(data.UserName, secure), EncryptedPassword = data.EncryptedPassword,
            });
        }
        catch (VfException ex) { WriteFailure(ex, instance.Name); }
    }

    // The key pair's private key, where New-VfKeyPair wrote it; an imported key pair has only its public key here.
    private static string KeyPairFile(Instance instance)
    {
        var path = Path.Combine(KeyPairStore.Folder, instance.KeyPair!);
        return File.Exists(path) ? path : throw new VfException("PrivateKeyNotFound", FailureKind.ObjectNotFound,
            $"The private key of key pair '{instance.KeyPair}' is not in {KeyPairStore.Folder} (an imported key pair keeps only its public key here): give -KeyFile.", instance.Name);
    }

    private static string ReadKeyFile(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VfException("KeyFileUnreadable", FailureKind.InvalidArgument, $"Cannot read the private key {path}: {e.Message}", path, e);
        }
    }
}
