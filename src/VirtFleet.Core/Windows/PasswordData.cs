using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace VirtFleet.Windows;

/// <summary>The encrypted administrator password a Windows instance's first boot wrote to its console.</summary>
/// <param name="UserName">The account the password was set on (the built-in administrator, by whatever name).</param>
/// <param name="EncryptedPassword">base64 of RSA-OAEP (SHA-1) ciphertext, readable only with the key pair's private key.</param>
public sealed record PasswordData(string UserName, string EncryptedPassword)
{
    // <Password user="NAME">, the base64 ciphertext, </Password>, each on its own line (a serial console may add \r).
    private static readonly Regex Block = new(
        @"^<Password user=""(?<user>[^""\r\n<>]{1,64})"">\r?\n(?<cipher>[A-Za-z0-9+/]+={0,2})\r?\n</Password>\r?$",
        RegexOptions.Multiline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));

    /// <summary>The last block in a console log (a later boot's block replaces an earlier one), or null when there is none yet.</summary>
    public static PasswordData? Find(string consoleText)
    {
        var last = Block.Matches(consoleText).LastOrDefault();
        return last is null ? null : new PasswordData(last.Groups["user"].Value, last.Groups["cipher"].Value);
    }

    /// <summary>
    /// The password in clear, decrypted with a private key in any form a user keeps one: OpenSSH's own format (what
    /// ssh-keygen writes), PKCS#1 or PKCS#8 PEM (what New-VfKeyPair -KeyType Rsa writes). A key that is not the
    /// instance's, or is not RSA, or is passphrase-protected, is refused with its own error.
    /// </summary>
    public string Decrypt(string privateKeyText)
    {
        using var rsa = PrivateKeys.LoadRsa(privateKeyText);
        byte[] cipher = Convert.FromBase64String(EncryptedPassword);
        try { return System.Text.Encoding.UTF8.GetString(rsa.Decrypt(cipher, RSAEncryptionPadding.OaepSHA1)); }
        catch (CryptographicException e)
        {
            throw new VfException("PasswordKeyMismatch", FailureKind.SecurityError,
                "The password does not decrypt with this private key: it was encrypted to another key pair.", inner: e);
        }
    }
}
