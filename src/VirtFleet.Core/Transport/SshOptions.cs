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
    public HostKeyPolicy HostKeyPolicy { get; init; } = HostKeyPolicy.Strict;
    /// <summary>known_hosts file; null = ~/.ssh/known_hosts.</summary>
    public string? KnownHostsPath { get; init; }
    /// <summary>Password for password authentication (from -Credential).</summary>
    public string? Password { get; init; }
    /// <summary>Passphrase of encrypted private keys.</summary>
    public string? KeyPassphrase { get; init; }
}
