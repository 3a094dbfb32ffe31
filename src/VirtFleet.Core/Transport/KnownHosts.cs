using System.Security.Cryptography;
using System.Text;

namespace VirtFleet.Transport;

public enum HostKeyVerdict { Trusted, Unknown, Changed, Revoked }

/// <summary>
/// An OpenSSH known_hosts file: plain and hashed (|1|salt|hash) host patterns, [host]:port,
/// comma lists, * ? wildcards, ! negation, @revoked. @cert-authority lines are ignored
/// (host certificates are not supported yet).
/// </summary>
public sealed class KnownHosts
{
    private sealed record Entry(string[] Patterns, string? HashedSalt, string? HashedHash, string KeyType, byte[] Key, bool Revoked);

    private readonly List<Entry> _entries = [];
    public string Path { get; }

    private KnownHosts(string path) => Path = path;

    public static KnownHosts Load(string? path)
    {
        var kh = new KnownHosts(System.IO.Path.GetFullPath(path ?? UserPaths.KnownHosts));
        if (!File.Exists(kh.Path)) return kh;
        foreach (var raw in File.ReadAllLines(kh.Path)) kh.Parse(raw);
        return kh;
    }

    private void Parse(string raw)
    {
        var line = raw.Trim();
        if (line.Length == 0 || line[0] == '#') return;
        var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var revoked = false;
        if (parts[0].StartsWith('@'))
        {
            if (parts[0] == "@cert-authority") return;
            revoked = parts[0] == "@revoked";
            parts = parts[1..];
        }
        if (parts.Length < 3) return;
        byte[] key;
        try { key = Convert.FromBase64String(parts[2]); } catch (FormatException) { return; }
        if (parts[0].StartsWith("|1|"))
        {
            var h = parts[0].Split('|');
            if (h.Length == 4) _entries.Add(new Entry([], h[2], h[3], parts[1], key, revoked));
            return;
        }
        _entries.Add(new Entry(parts[0].Split(','), null, null, parts[1], key, revoked));
    }

    /// <summary>The name OpenSSH records for a host: "addr" on port 22, "[addr]:port" otherwise.</summary>
    public static string HostName(string address, int port) => port == 22 ? address : $"[{address}]:{port}";

    private static bool Matches(Entry e, string name)
    {
        if (e.HashedSalt is not null)
        {
            using var hmac = new HMACSHA1(Convert.FromBase64String(e.HashedSalt));
            return Convert.ToBase64String(hmac.ComputeHash(Encoding.ASCII.GetBytes(name))) == e.HashedHash;
        }
        var matched = false;
        foreach (var p in e.Patterns)
        {
            var negate = p.StartsWith('!');
            if (PatternMatches(name, negate ? p[1..] : p))
            {
                if (negate) return false;
                matched = true;
            }
        }
        return matched;
    }

    /// <summary>known_hosts patterns know only * and ? ("[host]:port" brackets are literal).</summary>
    private static bool PatternMatches(string name, string pattern) =>
        System.Text.RegularExpressions.Regex.IsMatch(name,
            "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Checks a presented host key; <paramref name="known"/> lists the keys on record for the host. Keys are compared
    /// by their type and blob, the type read from the blob itself: an SSH library may name an RSA key by the
    /// signature algorithm it negotiated (rsa-sha2-512, rsa-sha2-256) where known_hosts says ssh-rsa.
    /// </summary>
    public HostKeyVerdict Verify(string address, int port, string keyType, byte[] key, out IReadOnlyList<string> known)
    {
        var forHost = EntriesFor(address, port);
        known = forHost.Where(e => !e.Revoked).Select(e => $"{e.KeyType} {Fingerprint(e.Key)}").ToList();
        if (forHost.Any(e => e.Revoked && e.Key.AsSpan().SequenceEqual(key))) return HostKeyVerdict.Revoked;
        var type = KeyType(key, keyType);
        if (forHost.Any(e => !e.Revoked && KeyType(e.Key, e.KeyType) == type && e.Key.AsSpan().SequenceEqual(key))) return HostKeyVerdict.Trusted;
        // OpenSSH: a host with keys on record but none of this type, and not this key, is still a change.
        return forHost.Any(e => !e.Revoked) ? HostKeyVerdict.Changed : HostKeyVerdict.Unknown;
    }

    /// <summary>The key types on record for a host (ssh-ed25519, ssh-rsa...), most preferred first (file order).</summary>
    public IReadOnlyList<string> KeyTypesFor(string address, int port) =>
        EntriesFor(address, port).Where(e => !e.Revoked).Select(e => KeyType(e.Key, e.KeyType)).Distinct().ToList();

    private List<Entry> EntriesFor(string address, int port)
    {
        var name = HostName(address, port);
        return _entries.Where(e => Matches(e, name)).ToList();
    }

    /// <summary>
    /// The key type a public key blob names (its first SSH string: "ssh-rsa", "ssh-ed25519"...), or
    /// <paramref name="fallback"/> when the blob does not start with a readable type.
    /// </summary>
    public static string KeyType(byte[] blob, string fallback)
    {
        if (blob.Length < 4) return fallback;
        var n = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        if (n <= 0 || n > 64 || 4 + n > blob.Length) return fallback;
        var type = Encoding.ASCII.GetString(blob, 4, n);
        return type.All(c => c is > ' ' and < (char)127) ? type : fallback;
    }

    /// <summary>
    /// The host key algorithms that produce signatures for a key type: an RSA key (ssh-rsa) signs with
    /// rsa-sha2-512, rsa-sha2-256 or ssh-rsa; every other type with its own name.
    /// </summary>
    public static bool AlgorithmSignsFor(string algorithm, string keyType) =>
        algorithm == keyType || (keyType == "ssh-rsa" && algorithm is "rsa-sha2-512" or "rsa-sha2-256");

    /// <summary>Records a key (trust on first use), appending a hashed entry like HashKnownHosts=yes, under the key's own type.</summary>
    public void Add(string address, int port, string keyType, byte[] key)
    {
        keyType = KeyType(key, keyType);
        var salt = RandomNumberGenerator.GetBytes(20);
        using var hmac = new HMACSHA1(salt);
        var hash = hmac.ComputeHash(Encoding.ASCII.GetBytes(HostName(address, port)));
        var line = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)} {keyType} {Convert.ToBase64String(key)}";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        lock (typeof(KnownHosts))
        {
            var prefix = File.Exists(Path) && new FileInfo(Path).Length > 0 && !File.ReadAllText(Path).EndsWith('\n') ? "\n" : "";
            File.AppendAllText(Path, prefix + line + "\n");
        }
        _entries.Add(new Entry([], Convert.ToBase64String(salt), Convert.ToBase64String(hash), keyType, key, false));
    }

    /// <summary>OpenSSH's SHA256 fingerprint: SHA256:base64-without-padding of the key blob.</summary>
    public static string Fingerprint(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');
}
