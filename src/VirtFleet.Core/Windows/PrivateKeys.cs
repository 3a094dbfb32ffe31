using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Utilities;
using Org.BouncyCastle.Security;

namespace VirtFleet.Windows;

/// <summary>Reads an RSA private key from the text of a key file, in OpenSSH's format or PEM.</summary>
public static class PrivateKeys
{
    public static RSA LoadRsa(string text)
    {
        const string OpenSshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----", OpenSshEnd = "-----END OPENSSH PRIVATE KEY-----";
        if (text.Contains("ENCRYPTED", StringComparison.Ordinal)) throw Protected();
        var start = text.IndexOf(OpenSshBegin, StringComparison.Ordinal);
        if (start >= 0)
        {
            var end = text.IndexOf(OpenSshEnd, start, StringComparison.Ordinal);
            if (end < 0) throw Invalid("The OpenSSH private key has no END line.");
            byte[] blob;
            try { blob = Convert.FromBase64String(text[(start + OpenSshBegin.Length)..end]); }
            catch (FormatException e) { throw Invalid("The OpenSSH private key is not base64.", e); }
            Org.BouncyCastle.Crypto.AsymmetricKeyParameter key;
            try { key = OpenSshPrivateKeyUtilities.ParsePrivateKeyBlob(blob); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidCastException)
            {
                // BouncyCastle refuses keys with a cipher other than none: a passphrase-protected key.
                throw e.Message.Contains("cipher", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("encrypted", StringComparison.OrdinalIgnoreCase)
                    ? Protected() : Invalid("The OpenSSH private key could not be read: " + e.Message, e);
            }
            if (key is not RsaPrivateCrtKeyParameters rsaKey) throw NotRsa();
            var fromOpenSsh = RSA.Create();
            fromOpenSsh.ImportParameters(DotNetUtilities.ToRSAParameters(rsaKey));
            return fromOpenSsh;
        }
        var rsa = RSA.Create();
        try { rsa.ImportFromPem(text); return rsa; }
        catch (ArgumentException e) { rsa.Dispose(); throw Invalid("Not an RSA private key in OpenSSH or PEM format.", e); }
        catch (CryptographicException e) { rsa.Dispose(); throw NotRsa(e); }
    }

    private static VfException Protected() => new("KeyFileEncrypted", FailureKind.InvalidArgument,
        "The private key is protected by a passphrase; give a copy without one (ssh-keygen -p -N '' -f COPY).");

    private static VfException NotRsa(Exception? inner = null) => new("KeyTypeUnsupported", FailureKind.InvalidArgument,
        "Windows passwords are encrypted to RSA key pairs; this private key is not RSA.", inner: inner);

    private static VfException Invalid(string message, Exception? inner = null) => new("KeyFileInvalid", FailureKind.InvalidArgument, message, inner: inner);
}
