using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>A Windows instance's administrator password as Get-VfPassword returns it: a credential ready for RDP or WinRM.</summary>
public sealed class InstancePassword
{
    public string Name { get; init; } = "";
    public string Host { get; init; } = "";
    /// <summary>The account the first boot set the password on (the built-in administrator, by its name in that Windows).</summary>
    public string UserName { get; init; } = "";
    /// <summary>The account and its password (a SecureString); null with -Encrypted.</summary>
    public PSCredential? Credential { get; init; }
    /// <summary>The password as the console holds it: base64 RSA-OAEP ciphertext only the key pair's private key opens.</summary>
    public string EncryptedPassword { get; init; } = "";
}
