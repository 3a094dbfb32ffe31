using System.Net.Sockets;
using Renci.SshNet;
using Renci.SshNet.Common;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// One SSH connection to a host (SSH.NET) carrying the session protocol of <see cref="ShellHost"/> on exec channels:
/// the long-lived shell and the interactive virsh, plus SFTP for files and local port forwards. A dropped connection is
/// re-established on the next command, never silently retried.
/// </summary>
public sealed class SshHost(HostEntry host, SshOptions options) : ShellHost(host, options)
{
    private SshClient? _client;
    private int _handshakes;

    public override string Transport => "ssh";
    /// <summary>How many SSH handshakes this connection has made (1 while it stays up).</summary>
    public override int Handshakes => _handshakes;
    private protected override bool TransportUp => _client?.IsConnected == true;
    /// <summary>A non-root user whose commands run through `sudo -n` (inventory: sudo: true).</summary>
    private protected override bool UsesSudo => Host.Sudo && Host.User != "root";
    private protected override string SudoUser => Host.User;
    private protected override string RootAdvice => "connect as root";
    private protected override string LostSession => "the SSH connection dropped";
    private protected override bool IsChannelFailure(Exception ex) => ex is SshException || base.IsChannelFailure(ex);

    private protected override ShellChannel Start(string command)
    {
        var cmd = _client!.CreateCommand(command);
        var run = cmd.ExecuteAsync(CancellationToken.None);
        _ = run.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        return new ShellChannel(cmd.CreateInputStream(), cmd.OutputStream, cmd.ExtendedOutputStream,
            async () => { await run; return cmd.ExitStatus ?? -1; }, cmd.Dispose);
    }

    private readonly List<ForwardedPortLocal> _forwards = [];

    public override async Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct)
    {
        await EnsureOpenAsync(ct);
        var client = _client ?? throw new VfException("ConnectionLost", FailureKind.ConnectionError, $"{Host.Name}: the SSH connection closed.", Host.Name);
        var port = new ForwardedPortLocal("127.0.0.1", 0, remoteAddress, (uint)remotePort);
        try
        {
            client.AddForwardedPort(port);
            port.Start();
        }
        catch (Exception ex) when (ex is SshException or SocketException or InvalidOperationException)
        {
            try { port.Dispose(); } catch (Exception) { }
            throw new VfException("PortForwardFailed", FailureKind.ConnectionError,
                $"{Host.Name}: could not forward a local port to {remoteAddress}:{remotePort} ({ex.Message}).", Host.Name, ex);
        }
        lock (_forwards) _forwards.Add(port);
        return new PortForward("127.0.0.1", (int)port.BoundPort, remoteAddress, remotePort, () =>
        {
            lock (_forwards) _forwards.Remove(port);
            try { port.Stop(); client.RemoveForwardedPort(port); port.Dispose(); } catch (Exception) { /* its connection is gone already */ }
        });
    }

    /// <summary>Local ports forwarded over this connection now (they close with it).</summary>
    public int Forwards { get { lock (_forwards) return _forwards.Count; } }

    /// <summary>Copies a local file to the host over SFTP, or with sudo through <c>sudo -n</c>; to a temporary name, renamed when complete.</summary>
    public override async Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        if (UsesSudo)
        {
            await UploadThroughSudoAsync(localPath, remotePath, progress, ct);
            return;
        }
        using var sftp = await OpenSftpAsync(ct);
        var tmp = remotePath + ".vf-partial";
        try
        {
            await using (var src = File.OpenRead(localPath))
            await using (var dst = await sftp.OpenAsync(tmp, FileMode.Create, FileAccess.Write, ct))
                await CopyAsync(src, dst, progress, ct);
            await sftp.RenameFileAsync(tmp, remotePath, ct);
        }
        catch
        {
            try { await sftp.DeleteFileAsync(tmp, CancellationToken.None); } catch (SshException) { } catch (IOException) { }
            throw;
        }
    }

    /// <summary>
    /// Copies a host's file to a local path: over SFTP, or, with sudo (root's files), streamed from <c>sudo -n cat</c> on its own
    /// channel of the same connection. A failed copy leaves a partial local file for the caller to remove.
    /// </summary>
    public override async Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        if (UsesSudo)
        {
            await DownloadThroughSudoAsync(remotePath, localPath, progress, ct);
            return;
        }
        using var sftp = await OpenSftpAsync(ct);
        try
        {
            await using var src = await sftp.OpenAsync(remotePath, FileMode.Open, FileAccess.Read, ct);
            await using var dst = File.Create(localPath);
            await CopyAsync(src, dst, progress, ct);
        }
        catch (Exception ex) when (ex is SshException or IOException && ex is not VfException)
        {
            throw new VfException("DownloadFailed", FailureKind.ConnectionError, $"{Host.Name}: copying {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>An SFTP session of its own (a file copy runs beside the session shell), the host key checked as for the shell.</summary>
    private async Task<SftpClient> OpenSftpAsync(CancellationToken ct)
    {
        var sftp = new SftpClient(BuildConnectionInfo());
        var verifier = new HostKeyCheck(Host, Options);
        sftp.HostKeyReceived += verifier.OnHostKey;
        try
        {
            await sftp.ConnectAsync(ct).WaitAsync(Options.ConnectTimeout + Options.AuthTimeout, ct);
            return sftp;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            sftp.Dispose();
            throw Translate(ex, verifier, phase: "sftp");
        }
        catch
        {
            sftp.Dispose();
            throw;
        }
    }

    private protected override async Task OpenTransportAsync(CancellationToken ct)
    {
        var client = new SshClient(BuildConnectionInfo());
        client.KeepAliveInterval = Options.KeepAliveInterval;
        var check = new HostKeyCheck(Host, Options);
        client.HostKeyReceived += check.OnHostKey;
        var bannerSeen = false;
        client.ServerIdentificationReceived += (_, _) => bannerSeen = true;
        try
        {
            // Two deadlines: until the banner (connect), then until authenticated (auth).
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var task = client.ConnectAsync(connect.Token);
            var connectBy = DateTime.UtcNow + Options.ConnectTimeout;
            var authBy = DateTime.MaxValue;
            while (!task.IsCompleted)
            {
                var now = DateTime.UtcNow;
                if (bannerSeen && authBy == DateTime.MaxValue) authBy = now + Options.AuthTimeout;
                var by = bannerSeen ? authBy : connectBy;
                if (now >= by)
                {
                    connect.Cancel();
                    client.Dispose();
                    throw bannerSeen
                        ? new VfException("AuthTimeout", FailureKind.OperationTimeout,
                            $"{Host.Name} ({Host.Address}): SSH key exchange or authentication did not finish within {Options.AuthTimeout.TotalSeconds:0.#} s.", Host.Name)
                        : new VfException("ConnectTimeout", FailureKind.OperationTimeout,
                            $"{Host.Name} ({Host.Address}:{Host.Port}): no SSH answer within {Options.ConnectTimeout.TotalSeconds:0.#} s.", Host.Name);
                }
                await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(1, (by - now).TotalMilliseconds))), ct));
                ct.ThrowIfCancellationRequested();
            }
            await task;
        }
        catch (Exception ex) when (ex is not VfException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            client.Dispose();
            throw Translate(ex, check, phase: "connect");
        }
        catch
        {
            client.Dispose();
            throw;
        }
        _client = client;
        Interlocked.Increment(ref _handshakes);
    }

    private protected override void CloseTransport()
    {
        lock (_forwards)
        {
            foreach (var f in _forwards) try { f.Stop(); f.Dispose(); } catch (Exception) { /* closing with its connection */ }
            _forwards.Clear();
        }
        try { _client?.Dispose(); } catch (Exception) { /* a dead connection */ }
        _client = null;
    }

    internal ConnectionInfo BuildConnectionInfo()
    {
        var methods = new List<AuthenticationMethod>();
        var loaded = KeyFiles().Select(LoadKey).Where(k => k.Key is not null).ToList();
        var keys = loaded.Select(k => (IPrivateKeySource)k.Key!).ToArray();
        if (keys.Length > 0) methods.Add(new PrivateKeyAuthenticationMethod(Host.User, keys));
        // A secret that decrypted a private key is that key's passphrase: it never leaves this machine, and in
        // particular is never offered to a host as a login password.
        var isPassphrase = loaded.Any(k => k.Decrypted) && Options.Password == Options.KeyPassphrase;
        if (Options.Password is not null && !isPassphrase) methods.Add(new PasswordAuthenticationMethod(Host.User, Options.Password));
        if (methods.Count == 0)
            throw new VfException("NoCredentials", FailureKind.SecurityError,
                $"{Host.Name}: no usable private key ({string.Join(", ", KeyFiles())}) and no -Credential.", Host.Name);
        var info = new ConnectionInfo(Host.Address, Host.Port, Host.User, methods.ToArray())
        {
            Timeout = Options.AuthTimeout,
        };
        PreferKeyExchange(info.KeyExchangeAlgorithms, Options.KeyExchange ?? SshOptions.DefaultKeyExchange, Host.Name);
        PreferHostKeys(info.HostKeyAlgorithms, KnownHosts.Load(Options.KnownHostsPath).KeyTypesFor(Host.Address, Host.Port));
        return info;
    }

    /// <summary>
    /// Puts the host key algorithms for the key types already on record for the host first (as OpenSSH does), so
    /// a host that has several host keys presents the one known_hosts holds, not another one that would read as
    /// a changed key. The rest keep their order after them.
    /// </summary>
    internal static void PreferHostKeys<T>(IDictionary<string, T> algorithms, IReadOnlyList<string> keyTypesOnRecord)
    {
        if (keyTypesOnRecord.Count == 0) return;
        var all = algorithms.ToList();
        var first = keyTypesOnRecord.SelectMany(t => all.Where(a => KnownHosts.AlgorithmSignsFor(a.Key, t))).Distinct().ToList();
        if (first.Count == 0) return;
        algorithms.Clear();
        foreach (var (name, factory) in first.Concat(all.Except(first))) algorithms.Add(name, factory);
    }

    /// <summary>Keeps only the named key exchange algorithms, in the given order (the client's preference).</summary>
    internal static void PreferKeyExchange<T>(IDictionary<string, T> algorithms, string preference, string host)
    {
        var names = preference.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        var unknown = names.Where(n => !algorithms.ContainsKey(n)).ToList();
        if (names.Count == 0 || unknown.Count > 0)
            throw new VfException("UnknownKeyExchange", FailureKind.InvalidArgument,
                $"{host}: unknown key exchange algorithm(s) '{string.Join(", ", unknown)}' in keyExchange; known: {string.Join(", ", algorithms.Keys)}.", host);
        var chosen = names.Select(n => (n, algorithms[n])).ToList();
        algorithms.Clear();
        foreach (var (name, factory) in chosen) algorithms.Add(name, factory);
    }

    private IEnumerable<string> KeyFiles()
    {
        if (Host.KeyFile is { Length: > 0 } k) return [UserPaths.ExpandHome(k)];
        return UserPaths.DefaultKeyFiles;
    }

    /// <summary>A private key and whether the passphrase was needed to read it.</summary>
    private (PrivateKeyFile? Key, bool Decrypted) LoadKey(string path)
    {
        try
        {
            try { return (new PrivateKeyFile(path), false); }
            catch (SshPassPhraseNullOrEmptyException) when (Options.KeyPassphrase is not null)
            {
                return (new PrivateKeyFile(path, Options.KeyPassphrase), true);
            }
        }
        catch (SshPassPhraseNullOrEmptyException)
        {
            throw new VfException("KeyPassphraseRequired", FailureKind.SecurityError,
                $"{Host.Name}: the private key {path} is encrypted; pass its passphrase with -Credential.", Host.Name);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new VfException("KeyFileNotFound", FailureKind.ObjectNotFound, $"{Host.Name}: key file {path} not found.", Host.Name);
        }
        catch (SshException ex)
        {
            throw new VfException("KeyFileUnreadable", FailureKind.SecurityError, $"{Host.Name}: cannot use key {path}: {ex.Message}", Host.Name, ex);
        }
    }

    private VfException Translate(Exception ex, HostKeyCheck check, string phase)
    {
        if (check.Refusal is { } refusal) return refusal;
        var where = $"{Host.Name} ({Host.Address}:{Host.Port})";
        return ex switch
        {
            VfException vf => vf,
            SshAuthenticationException => new VfException("AuthenticationFailed", FailureKind.SecurityError,
                $"{where}: authentication as '{Host.User}' failed: {ex.Message}", Host.Name, ex),
            SocketException se => new VfException(se.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "ConnectionRefused",
                    SocketError.HostUnreachable or SocketError.NetworkUnreachable => "HostUnreachable",
                    SocketError.TimedOut => "ConnectTimeout",
                    _ => "ConnectionFailed",
                }, se.SocketErrorCode == SocketError.TimedOut ? FailureKind.OperationTimeout : FailureKind.ConnectionError,
                $"{where}: {se.Message}", Host.Name, ex),
            SshOperationTimeoutException or TimeoutException => new VfException(phase == "connect" ? "AuthTimeout" : "ConnectTimeout",
                FailureKind.OperationTimeout, $"{where}: {ex.Message}", Host.Name, ex),
            _ => new VfException("ConnectionFailed", FailureKind.ConnectionError, $"{where}: {ex.Message}", Host.Name, ex),
        };
    }

    /// <summary>Checks the server's key against known_hosts during key exchange, before authentication.</summary>
    private sealed class HostKeyCheck(HostEntry host, SshOptions options)
    {
        public VfException? Refusal { get; private set; }

        public void OnHostKey(object? sender, HostKeyEventArgs e)
        {
            var known = KnownHosts.Load(options.KnownHostsPath);
            var fingerprint = KnownHosts.Fingerprint(e.HostKey);
            // The key's own type (ssh-rsa), not the signature algorithm SSH.NET names it by (rsa-sha2-512).
            var keyType = KnownHosts.KeyType(e.HostKey, e.HostKeyName);
            var verdict = known.Verify(host.Address, host.Port, keyType, e.HostKey, out var onRecord);
            switch (verdict)
            {
                case HostKeyVerdict.Trusted:
                    e.CanTrust = true;
                    return;
                case HostKeyVerdict.Unknown when options.HostKeyPolicy == HostKeyPolicy.AcceptNew:
                    known.Add(host.Address, host.Port, keyType, e.HostKey);
                    e.CanTrust = true;
                    return;
                case HostKeyVerdict.Unknown:
                    Refusal = new VfException("HostKeyUnknown", FailureKind.SecurityError,
                        $"{host.Name} ({host.Address}): host key {keyType} {fingerprint} is not in {known.Path}. " +
                        "Verify it out of band, then add it (ssh-keyscan) or connect once with -AcceptNewHostKey.", host.Name);
                    break;
                case HostKeyVerdict.Changed:
                    Refusal = new VfException("HostKeyChanged", FailureKind.SecurityError,
                        $"{host.Name} ({host.Address}): HOST KEY CHANGED. Presented {keyType} {fingerprint}; " +
                        $"on record in {known.Path}: {string.Join(", ", onRecord)}. Refusing to connect.", host.Name);
                    break;
                default:
                    Refusal = new VfException("HostKeyRevoked", FailureKind.SecurityError,
                        $"{host.Name} ({host.Address}): host key {fingerprint} is marked @revoked in {known.Path}.", host.Name);
                    break;
            }
            e.CanTrust = false;
        }
    }
}
