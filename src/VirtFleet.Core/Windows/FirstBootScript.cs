using System.Security.Cryptography;

namespace VirtFleet.Windows;

/// <summary>
/// The first-boot script VirtFleet puts in a Windows instance's user data (first-boot.ps1, run once by cloudbase-init):
/// it gives the built-in administrator a random password and writes it to the serial console encrypted to the
/// instance's RSA key pair, for <see cref="PasswordData"/> to find and decrypt on the admin's machine.
/// </summary>
public static class FirstBootScript
{
    /// <summary>The first line cloudbase-init reads to run a script in the 64-bit PowerShell.</summary>
    public const string Header = "#ps1_sysnative";

    private static readonly Lazy<string> Body = new(() =>
    {
        using var stream = typeof(FirstBootScript).Assembly.GetManifestResourceStream("VirtFleet.Windows.first-boot.ps1")
            ?? throw new InvalidOperationException("first-boot.ps1 is not embedded");
        return new StreamReader(stream).ReadToEnd().ReplaceLineEndings("\r\n");
    });

    /// <summary>The script for an instance whose key pair has this OpenSSH public key line (ssh-rsa only).</summary>
    public static string For(string rsaPublicKeyLine) =>
        $"{Header}\r\n$VfRsaKey = '{RsaKeyValueXml(rsaPublicKeyLine)}'\r\n{Body.Value}";

    /// <summary>
    /// .NET's RSAKeyValue XML of an ssh-rsa public key line, which every .NET since 2.0 imports (FromXmlString). Its
    /// characters are base64 and the two tags, so it sits in a PowerShell single-quoted string as it is.
    /// </summary>
    public static string RsaKeyValueXml(string rsaPublicKeyLine)
    {
        var parts = rsaPublicKeyLine.Trim().Split(' ');
        if (parts.Length < 2 || parts[0] != "ssh-rsa")
            throw new VfException("KeyTypeUnsupported", FailureKind.InvalidArgument,
                "A Windows password is encrypted to an RSA key pair (as EC2 does): make one with New-VfKeyPair -KeyType Rsa.");
        byte[] blob;
        try { blob = Convert.FromBase64String(parts[1]); }
        catch (FormatException e) { throw new VfException("PublicKeyInvalid", FailureKind.InvalidArgument, "The ssh-rsa key is not base64.", inner: e); }
        var reader = new SshReader(blob);
        if (reader.String() is not "ssh-rsa")
            throw new VfException("PublicKeyInvalid", FailureKind.InvalidArgument, "The ssh-rsa key's blob does not hold an RSA key.");
        var exponent = reader.Unsigned();
        var modulus = reader.Unsigned();
        using var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters { Exponent = exponent, Modulus = modulus }); // refuses what is not a key
        return $"<RSAKeyValue><Modulus>{Convert.ToBase64String(modulus)}</Modulus><Exponent>{Convert.ToBase64String(exponent)}</Exponent></RSAKeyValue>";
    }

    private sealed class SshReader(byte[] data)
    {
        private int _at;

        public byte[] Bytes()
        {
            if (_at + 4 > data.Length) throw Truncated();
            var n = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(_at));
            if (n < 0 || _at + 4 + n > data.Length) throw Truncated();
            var value = data.AsSpan(_at + 4, n).ToArray();
            _at += 4 + n;
            return value;
        }

        public string String() => System.Text.Encoding.ASCII.GetString(Bytes());

        /// <summary>An mpint without its sign byte.</summary>
        public byte[] Unsigned() => Bytes().AsSpan().TrimStart((byte)0).ToArray();

        private static VfException Truncated() => new("PublicKeyInvalid", FailureKind.InvalidArgument, "The ssh-rsa key's blob is truncated.");
    }
}
