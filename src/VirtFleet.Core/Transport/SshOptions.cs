namespace VirtFleet.Transport;

/// <summary>What to do with a host key that known_hosts does not list.</summary>
public enum HostKeyPolicy
{
    /// <summary>Refuse unknown and changed keys (StrictHostKeyChecking=yes). The default.</summary>
    Strict,
    /// <summary>Record an unknown key and connect; still refuse a changed key (accept-new).</summary>
    AcceptNew,
}

/// <summary>How VirtFleet connects to hosts. Secrets come from a PSCredential at the cmdlet layer.</summary>
public sealed record SshOptions
{
    /// <summary>Until the server's SSH banner arrives (TCP connect included).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>From the banner to an authenticated session (key exchange and authentication).</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Default bound on one remote command.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>
    /// The most a command's standard output (or error) may hold before its end; a longer reply is the error
    /// CommandOutputTooLarge, never kept in memory without bound.
    /// </summary>
    public long MaxOutputBytes { get; init; } = 64L << 20;
    public HostKeyPolicy HostKeyPolicy { get; init; } = HostKeyPolicy.Strict;
    /// <summary>known_hosts file; null = ~/.ssh/known_hosts.</summary>
    public string? KnownHostsPath { get; init; }
    /// <summary>Password for password authentication (from -Credential); not offered when the same secret decrypted a private key.</summary>
    public string? Password { get; init; }
    /// <summary>Passphrase of encrypted private keys.</summary>
    public string? KeyPassphrase { get; init; }
    /// <summary>
    /// Key exchange algorithms in order of preference, comma-separated (OpenSSH's KexAlgorithms); null =
    /// <see cref="DefaultKeyExchange"/>.
    /// </summary>
    public string? KeyExchange { get; init; }

    /// <summary>
    /// ML-KEM hybrid first (post-quantum and fast), then curve25519, then the sntrup761 hybrid: the managed
    /// sntrup761 costs about 75 ms of CPU per handshake against 1 ms in OpenSSH, so a server that offers nothing
    /// newer (OpenSSH before 9.9) gets curve25519. Name sntrup761x25519-sha512 first in the inventory's
    /// keyExchange to insist on a post-quantum exchange. SHA-1 exchanges are left out.
    /// </summary>
    public const string DefaultKeyExchange =
        "mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org," +
        "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com," +
        "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
        "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
}
