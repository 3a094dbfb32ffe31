using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace VirtFleet.KeyPairs;

/// <summary>
/// Key pairs kept on the admin machine in the VirtFleet config folder: keypairs/NAME.pub and, for keys made
/// here, the private key keypairs/NAME (OpenSSH format, readable by the owner only).
/// </summary>
public static class KeyPairStore
{
    public static string Folder => UserPaths.KeyPairs;

    private static string PublicPath(string name) => Path.Combine(Folder, Libvirt.Names.ValidateInstanceName(name) + ".pub");

    public static string ReadPublicKey(string name)
    {
        var path = PublicPath(name);
        if (!File.Exists(path))
            throw new VfException("KeyPairNotFound", FailureKind.ObjectNotFound, $"No key pair '{name}' ({path}); make one with New-VfKeyPair or Import-VfKeyPair.", name);
        return File.ReadAllText(path).Trim();
    }

    public static IReadOnlyList<KeyPair> List() =>
        Directory.Exists(Folder)
            ? Directory.GetFiles(Folder, "*.pub").Order().Select(p => Describe(Path.GetFileNameWithoutExtension(p))).ToList()
            : [];

    public static KeyPair Describe(string name)
    {
        var pub = ReadPublicKey(name);
        var priv = Path.Combine(Folder, name);
        return new KeyPair(name, Fingerprint(pub), pub, File.Exists(priv) ? priv : null);
    }

    /// <summary>Records an existing OpenSSH public key (one line: type, base64, optional comment).</summary>
    public static KeyPair Import(string name, string publicKey, bool force)
    {
        publicKey = publicKey.Trim();
        var parts = publicKey.Split(' ', 3);
        if (publicKey.Contains('\n') || parts.Length < 2 || !parts[0].StartsWith("ssh-") && !parts[0].StartsWith("ecdsa-") ||
            !IsBase64(parts[1]))
            throw new VfException("PublicKeyInvalid", FailureKind.InvalidArgument, "Not an OpenSSH public key line (type base64 [comment]).", name);
        var path = PublicPath(name);
        if (File.Exists(path) && !force)
            throw new VfException("KeyPairExists", FailureKind.ResourceExists, $"Key pair '{name}' exists; use -Force to replace it.", name);
        Directory.CreateDirectory(Folder);
        File.WriteAllText(path, publicKey + "\n");
        return Describe(name);
    }

    /// <summary>The key's algorithm from its OpenSSH public key line.</summary>
    public static KeyType TypeOf(string publicKeyLine) => publicKeyLine.Split(' ', 2)[0] switch
    {
        "ssh-ed25519" => KeyType.Ed25519,
        "ssh-rsa" => KeyType.Rsa,
        _ => KeyType.Other,
    };

    /// <summary>RSA key size for new pairs: what EC2 makes, and what a Windows Server 2008 R2 PowerShell encrypts to.</summary>
    public const int RsaBits = 2048;

    /// <summary>
    /// Makes a new key pair (ed25519, or RSA for Windows passwords); the private key is written for the owner only:
    /// OpenSSH's own format for ed25519, PKCS#1 PEM for RSA (read by OpenSSH, PuTTYgen and .NET alike).
    /// </summary>
    public static KeyPair Create(string name, bool force, KeyType type = KeyType.Ed25519)
    {
        var path = PublicPath(name);
        if (File.Exists(path) && !force)
            throw new VfException("KeyPairExists", FailureKind.ResourceExists, $"Key pair '{name}' exists; use -Force to replace it.", name);
        var comment = "virtfleet-" + name;
        var (publicLine, privateText) = type switch
        {
            KeyType.Ed25519 => NewEd25519(comment),
            KeyType.Rsa => NewRsa(comment),
            _ => throw new VfException("KeyTypeUnsupported", FailureKind.InvalidArgument, $"Cannot make a key pair of type {type}.", name),
        };
        Directory.CreateDirectory(Folder);
        var privatePath = Path.Combine(Folder, name);
        if (File.Exists(privatePath)) File.Delete(privatePath);
        if (OperatingSystem.IsWindows()) WriteOwnerOnlyOnWindows(privatePath, privateText);
        else
        {
            using var f = new FileStream(privatePath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            f.Write(Encoding.ASCII.GetBytes(privateText));
        }
        File.WriteAllText(path, publicLine + "\n");
        return Describe(name);
    }

    private static (string PublicLine, string PrivateText) NewEd25519(string comment)
    {
        var gen = new Ed25519KeyPairGenerator();
        gen.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        var pub = ((Ed25519PublicKeyParameters)pair.Public).GetEncoded();
        var seed = ((Ed25519PrivateKeyParameters)pair.Private).GetEncoded();
        var blob = SshString("ssh-ed25519"u8.ToArray(), pub);
        return ($"ssh-ed25519 {Convert.ToBase64String(blob)} {comment}", OpenSshPrivateKey(blob, pub, seed, comment));
    }

    private static (string PublicLine, string PrivateText) NewRsa(string comment)
    {
        using var rsa = RSA.Create(RsaBits);
        var p = rsa.ExportParameters(includePrivateParameters: false);
        var blob = SshString("ssh-rsa"u8.ToArray(), Mpint(p.Exponent!), Mpint(p.Modulus!));
        return ($"ssh-rsa {Convert.ToBase64String(blob)} {comment}", rsa.ExportRSAPrivateKeyPem() + "\n");
    }

    /// <summary>An SSH mpint's bytes: big-endian, a leading zero when the top bit is set (it would read as negative).</summary>
    private static byte[] Mpint(byte[] unsigned)
    {
        var trimmed = unsigned.AsSpan().TrimStart((byte)0);
        return trimmed.Length > 0 && trimmed[0] >= 0x80 ? [0, .. trimmed] : trimmed.ToArray();
    }

    /// <summary>
    /// Creates the file with a protected DACL granting only the current user access (what OpenSSH for Windows
    /// demands of a private key), so it is never readable by others, not even for a moment.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static void WriteOwnerOnlyOnWindows(string path, string text)
    {
        var security = new System.Security.AccessControl.FileSecurity();
        security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
        security.AddAccessRule(new System.Security.AccessControl.FileSystemAccessRule(
            System.Security.Principal.WindowsIdentity.GetCurrent().User!,
            System.Security.AccessControl.FileSystemRights.FullControl, System.Security.AccessControl.AccessControlType.Allow));
        using var f = new FileInfo(path).Create(FileMode.CreateNew, System.Security.AccessControl.FileSystemRights.Write,
            FileShare.None, 4096, FileOptions.None, security);
        f.Write(Encoding.ASCII.GetBytes(text));
    }

    public static void Remove(string name)
    {
        var path = PublicPath(name);
        if (!File.Exists(path))
            throw new VfException("KeyPairNotFound", FailureKind.ObjectNotFound, $"No key pair '{name}'.", name);
        File.Delete(path);
        var priv = Path.Combine(Folder, name);
        if (File.Exists(priv)) File.Delete(priv);
    }

    public static string Fingerprint(string publicKeyLine) =>
        Transport.KnownHosts.Fingerprint(Convert.FromBase64String(publicKeyLine.Split(' ')[1]));

    private static bool IsBase64(string s) { try { Convert.FromBase64String(s); return true; } catch (FormatException) { return false; } }

    // openssh-key-v1, unencrypted: header, one public key, then the private section padded to 8 bytes.
    private static string OpenSshPrivateKey(byte[] publicBlob, byte[] pub, byte[] seed, string comment)
    {
        var check = RandomNumberGenerator.GetBytes(4);
        var priv = new MemoryStream();
        priv.Write(check); priv.Write(check);
        priv.Write(SshString("ssh-ed25519"u8.ToArray(), pub, [.. seed, .. pub], Encoding.UTF8.GetBytes(comment)));
        for (byte pad = 1; priv.Length % 8 != 0; pad++) priv.WriteByte(pad);
        var body = new MemoryStream();
        body.Write("openssh-key-v1\0"u8);
        body.Write(SshString("none"u8.ToArray(), "none"u8.ToArray(), []));
        body.Write([0, 0, 0, 1]);
        body.Write(SshString(publicBlob, priv.ToArray()));
        var b64 = Convert.ToBase64String(body.ToArray());
        var sb = new StringBuilder("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for (var i = 0; i < b64.Length; i += 70) sb.Append(b64, i, Math.Min(70, b64.Length - i)).Append('\n');
        return sb.Append("-----END OPENSSH PRIVATE KEY-----\n").ToString();
    }

    private static byte[] SshString(params byte[][] items)
    {
        var ms = new MemoryStream();
        Span<byte> len = stackalloc byte[4];
        foreach (var item in items)
        {
            BinaryPrimitives.WriteInt32BigEndian(len, item.Length);
            ms.Write(len);
            ms.Write(item);
        }
        return ms.ToArray();
    }
}
