using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Renci.SshNet;
using Renci.SshNet.Common;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// One SSH connection to a host (SSH.NET) with one long-lived `sh` on an exec channel.
/// Each command is written to that shell's stdin, run in a subshell with its own stdin,
/// and its output ends at a marker line carrying the exit code. Commands are serialized;
/// a dropped connection is re-established on the next command, never silently retried.
/// </summary>
public sealed class SshHost : IRemoteHost, IAsyncDisposable
{
    private readonly SshOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _marker = "__VF_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "__";
    private SshClient? _client;
    private SshCommand? _shell;
    private Stream? _stdin;
    private StreamCursor? _stdout, _stderr;
    private SshCommand? _virsh;
    private Stream? _virshIn;
    private StreamCursor? _virshOut;
    private bool _virshUnusable;
    private readonly SemaphoreSlim _virshGate = new(1, 1);
    private volatile bool _virshReady;
    private int _virshWarming;

    public bool VirshReady => _virshReady && _virsh is not null;

    public void PrepareVirsh()
    {
        if (_virshUnusable || VirshReady || Interlocked.Exchange(ref _virshWarming, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            try { await VirshAsync(["uri"], CancellationToken.None); _virshReady = true; }
            catch (Exception) { /* stays on the shell path */ }
            finally { Interlocked.Exchange(ref _virshWarming, 0); }
        });
    }
    private int _handshakes;
    private long _commands;

    public SshHost(HostEntry host, SshOptions options) { Host = host; _options = options; }

    public HostEntry Host { get; }
    public TimeSpan CommandTimeout => _options.CommandTimeout;
    /// <summary>How many SSH handshakes this connection has made (1 while it stays up).</summary>
    public int Handshakes => _handshakes;
    /// <summary>Commands run through this connection.</summary>
    public long Commands => Interlocked.Read(ref _commands);
    public bool IsConnected => _client?.IsConnected == true && _shell is not null;

    public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        await _gate.WaitAsync(ct);
        try
        {
            ThrowIfSudoRefused();
            if (!IsConnected) await ConnectAsync(ct);
            Interlocked.Increment(ref _commands);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var limit = timeout ?? _options.CommandTimeout;
            deadline.CancelAfter(limit);
            try
            {
                var request = Encoding.UTF8.GetBytes(Wrap(script, stdin));
                await _stdin!.WriteAsync(request, deadline.Token);
                await _stdin.FlushAsync(deadline.Token);
                var outTask = _stdout!.ReadUntilAsync(_marker, withCode: true, deadline.Token);
                var errTask = _stderr!.ReadUntilAsync(_marker, withCode: false, deadline.Token);
                var (stdout, code) = await outTask;
                var (stderr, _) = await errTask;
                return new CommandResult(code, stdout, stderr);
            }
            catch (ReplyException ex)
            {
                // The reply broke the protocol (too long, or no exit code where one must be): the shell's position in
                // its output is lost, so it is dropped; the next command reconnects.
                Drop();
                throw new VfException(ex.ErrorId, FailureKind.InvalidData, $"{Host.Name}: {ex.Message}", Host.Name, ex);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SshException or ObjectDisposedException or EndOfStreamException)
            {
                // The shell is in an unknown state: drop it; the next command reconnects.
                Drop();
                if (ct.IsCancellationRequested) throw;
                if (ex is OperationCanceledException)
                    throw new VfException("CommandTimeout", FailureKind.OperationTimeout,
                        $"{Host.Name}: a command did not finish within {limit.TotalSeconds:0.#} s; the session was closed.", Host.Name, ex);
                throw new VfException("ConnectionLost", FailureKind.ConnectionError,
                    $"{Host.Name}: the SSH connection dropped during a command ({ex.Message}); its effect is unknown until the host is read again.", Host.Name, ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private readonly List<ForwardedPortLocal> _forwards = [];

    public async Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            ThrowIfSudoRefused();
            if (!IsConnected) await ConnectAsync(ct);
            var client = _client!;
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
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Local ports forwarded over this connection now (they close with it).</summary>
    public int Forwards { get { lock (_forwards) return _forwards.Count; } }

    public async Task<IReadOnlyList<string>> VirshAsync(IReadOnlyList<string> commands, CancellationToken ct)
    {
        if (_virshUnusable) throw new NotSupportedException("interactive virsh did not answer as expected on this host");
        if (commands.Any(c => c.Contains('\n') || c.Contains('\r')))
            throw new ArgumentException("a virsh command contains a newline", nameof(commands));
        // Its own channel and gate: the shell keeps serving commands while virsh answers.
        await _virshGate.WaitAsync(ct);
        try
        {
            if (!IsConnected)
            {
                await _gate.WaitAsync(ct);
                try { ThrowIfSudoRefused(); if (!IsConnected) await ConnectAsync(ct); } finally { _gate.Release(); }
            }
            if (_virsh is null) StartVirsh();
            Interlocked.Increment(ref _commands);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(_options.CommandTimeout);
            var end = "@@VF-END-" + _marker[5..^2] + "@@";
            try
            {
                // virsh's echo prints no newline, and its output is line-buffered: the trailing `uri` echoes a
                // full line right after the marker, so the reply arrives at once. Waiting for the marker followed
                // by that prompt skips the marker's copy in the echoed command line.
                await _virshIn!.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', commands) + "\necho " + end + "\nuri\n"), deadline.Token);
                await _virshIn.FlushAsync(deadline.Token);
                var raw = await _virshOut!.ReadUntilTextAsync(end + VirshPrompt + "uri\n", deadline.Token);
                return SplitVirshOutput(raw, commands) ?? throw Unusable();
            }
            catch (ReplyException ex)
            {
                DropVirsh();
                throw new VfException(ex.ErrorId, FailureKind.InvalidData, $"{Host.Name}: {ex.Message}", Host.Name, ex);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SshException or ObjectDisposedException or EndOfStreamException)
            {
                DropVirsh();
                if (ct.IsCancellationRequested) throw;
                throw Unusable();
            }
        }
        finally
        {
            _virshGate.Release();
        }

        NotSupportedException Unusable()
        {
            _virshUnusable = true;
            _virshReady = false;
            DropVirsh();
            return new NotSupportedException("interactive virsh did not answer as expected on this host");
        }
    }

    /// <summary>
    /// Interactive virsh echoes "virsh # COMMAND" before each command's output (stdin is not a terminal);
    /// each output is what lies between one echo and the next. Null when the echoes are not where expected.
    /// </summary>
    internal static IReadOnlyList<string>? SplitVirshOutput(string raw, IReadOnlyList<string> commands)
    {
        const string Prompt = VirshPrompt;
        // The prompt before the first command was consumed with the previous reply (or is virsh's first output).
        if (!raw.StartsWith(Prompt, StringComparison.Ordinal)) raw = Prompt + raw;
        var outputs = new List<string>(commands.Count);
        var at = raw.IndexOf(Prompt + commands[0] + "\n", StringComparison.Ordinal);
        if (at < 0) return null;
        for (var i = 0; i < commands.Count; i++)
        {
            var start = at + Prompt.Length + commands[i].Length + 1;
            var next = i + 1 < commands.Count ? Prompt + commands[i + 1] + "\n" : Prompt + "echo ";
            var stop = raw.IndexOf(next, start, StringComparison.Ordinal);
            if (stop < 0) return null;
            outputs.Add(raw[start..stop]);
            at = stop;
        }
        return outputs;
    }

    private const string VirshPrompt = "virsh # ";

    private void StartVirsh()
    {
        // stdbuf: line-buffered output, so each reply arrives as soon as virsh prints it.
        var virsh = "stdbuf -oL virsh -q -c qemu:///system";
        _virsh = _client!.CreateCommand("LC_ALL=C exec " + (UsesSudo ? "sudo -n " + virsh : virsh));
        _ = _virsh.ExecuteAsync(CancellationToken.None).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        _virshIn = _virsh.CreateInputStream();
        _virshOut = new StreamCursor(_virsh.OutputStream, "virsh", _options.MaxOutputBytes);
        StreamCursor.Drain(_virsh.ExtendedOutputStream, "virsh stderr");
    }

    private void DropVirsh()
    {
        try { _virshIn?.Dispose(); } catch (Exception) { /* a dead channel */ }
        try { _virsh?.Dispose(); } catch (Exception) { }
        _virsh = null; _virshIn = null; _virshOut = null;
    }

    /// <summary>The text written to the session shell for one command.</summary>
    private string Wrap(string script, byte[]? stdin)
    {
        var run = "( eval " + ShellQuote.Quote(script) + " )";
        var end = $"; printf '\\n%s %d\\n' {_marker} \"$?\"; printf '\\n%s\\n' {_marker} >&2\n";
        if (stdin is null) return run + " </dev/null" + end;
        var heredoc = "__VF_IN_" + _marker[5..];
        return $"base64 -d <<'{heredoc}' | {run}{end}{ShellQuote.Base64Lines(stdin)}{heredoc}\n";
    }

    public async Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        if (UsesSudo)
        {
            await UploadThroughSudoAsync(localPath, remotePath, progress, ct);
            return;
        }
        using var sftp = new SftpClient(BuildConnectionInfo());
        var verifier = new HostKeyCheck(Host, _options);
        sftp.HostKeyReceived += verifier.OnHostKey;
        try
        {
            await sftp.ConnectAsync(ct).WaitAsync(_options.ConnectTimeout + _options.AuthTimeout, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw Translate(ex, verifier, phase: "sftp");
        }
        var tmp = remotePath + ".vf-partial";
        try
        {
            await using (var src = File.OpenRead(localPath))
            await using (var dst = await sftp.OpenAsync(tmp, FileMode.Create, FileAccess.Write, ct))
            {
                var buffer = new byte[256 * 1024];
                long done = 0;
                int n;
                while ((n = await src.ReadAsync(buffer, ct)) > 0)
                {
                    await dst.WriteAsync(buffer.AsMemory(0, n), ct);
                    progress?.Report(done += n);
                }
            }
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
    public async Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        long done = 0;
        if (!UsesSudo)
        {
            using var sftp = new SftpClient(BuildConnectionInfo());
            var verifier = new HostKeyCheck(Host, _options);
            sftp.HostKeyReceived += verifier.OnHostKey;
            try { await sftp.ConnectAsync(ct).WaitAsync(_options.ConnectTimeout + _options.AuthTimeout, ct); }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested) { throw Translate(ex, verifier, phase: "sftp"); }
            try
            {
                await using var src = await sftp.OpenAsync(remotePath, FileMode.Open, FileAccess.Read, ct);
                await using var dst = File.Create(localPath);
                int n;
                while ((n = await src.ReadAsync(buffer, ct)) > 0)
                {
                    await dst.WriteAsync(buffer.AsMemory(0, n), ct);
                    progress?.Report(done += n);
                }
            }
            catch (Exception ex) when (ex is SshException or IOException && ex is not VfException)
            {
                throw new VfException("DownloadFailed", FailureKind.ConnectionError, $"{Host.Name}: copying {remotePath} failed: {ex.Message}", Host.Name, ex);
            }
            return;
        }
        await _gate.WaitAsync(ct);
        try { ThrowIfSudoRefused(); if (!IsConnected) await ConnectAsync(ct); } finally { _gate.Release(); }
        using var cmd = _client!.CreateCommand("LC_ALL=C exec sudo -n cat -- " + ShellQuote.Quote(remotePath));
        var run = cmd.ExecuteAsync(ct);
        try
        {
            await using (var dst = File.Create(localPath))
            {
                var output = cmd.OutputStream;
                int n;
                while ((n = await output.ReadAsync(buffer, ct)) > 0)
                {
                    await dst.WriteAsync(buffer.AsMemory(0, n), ct);
                    progress?.Report(done += n);
                }
            }
            await run;
            if (cmd.ExitStatus != 0)
                throw new VfException("DownloadFailed", FailureKind.InvalidOperation,
                    $"{Host.Name}: copying {remotePath} through sudo failed (exit {cmd.ExitStatus}): {cmd.Error.Trim()}", Host.Name);
        }
        catch (Exception ex) when (ex is not VfException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw new VfException("DownloadFailed", FailureKind.ConnectionError, $"{Host.Name}: copying {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>
    /// With sudo, SFTP would write as the unprivileged user into root's folders: the file is streamed instead into
    /// `sudo -n sh -c 'cat > partial'` on its own channel of the same connection, written with umask 077 under a
    /// temporary name and renamed when complete; a failed copy leaves no partial file.
    /// </summary>
    private async Task UploadThroughSudoAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try { ThrowIfSudoRefused(); if (!IsConnected) await ConnectAsync(ct); } finally { _gate.Release(); }
        var tmp = remotePath + ".vf-partial";
        const string Copy = "umask 077; cat > \"$1\" && mv -f -- \"$1\" \"$2\"";
        using var cmd = _client!.CreateCommand("LC_ALL=C exec sudo -n /bin/sh -c " + ShellQuote.Join(Copy, "sh", tmp, remotePath));
        var run = cmd.ExecuteAsync(ct);
        try
        {
            await using (var input = cmd.CreateInputStream())
            await using (var src = File.OpenRead(localPath))
            {
                var buffer = new byte[256 * 1024];
                long done = 0;
                int n;
                while ((n = await src.ReadAsync(buffer, ct)) > 0)
                {
                    await input.WriteAsync(buffer.AsMemory(0, n), ct);
                    progress?.Report(done += n);
                }
            }
            await run;
            if (cmd.ExitStatus != 0)
                throw new VfException("UploadFailed", FailureKind.InvalidOperation,
                    $"{Host.Name}: copying {Path.GetFileName(localPath)} to {remotePath} through sudo failed (exit {cmd.ExitStatus}): {cmd.Error.Trim()}", Host.Name);
        }
        catch (Exception ex) when (ex is not VfException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            await RemovePartialAsync(tmp);
            throw new VfException("UploadFailed", FailureKind.ConnectionError, $"{Host.Name}: copying {Path.GetFileName(localPath)} to {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
        catch
        {
            await RemovePartialAsync(tmp);
            throw;
        }
    }

    private async Task RemovePartialAsync(string path)
    {
        try { await RunAsync("rm -f -- " + ShellQuote.Quote(path), CancellationToken.None, timeout: TimeSpan.FromSeconds(30)); }
        catch (VfException) { /* the host is gone; the staging folder is removed with it by the caller's cleanup */ }
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        Drop();
        var client = new SshClient(BuildConnectionInfo());
        client.KeepAliveInterval = _options.KeepAliveInterval;
        var check = new HostKeyCheck(Host, _options);
        client.HostKeyReceived += check.OnHostKey;
        var bannerSeen = false;
        client.ServerIdentificationReceived += (_, _) => bannerSeen = true;
        try
        {
            // Two deadlines: until the banner (connect), then until authenticated (auth).
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var task = client.ConnectAsync(connect.Token);
            var connectBy = DateTime.UtcNow + _options.ConnectTimeout;
            var authBy = DateTime.MaxValue;
            while (!task.IsCompleted)
            {
                var now = DateTime.UtcNow;
                if (bannerSeen && authBy == DateTime.MaxValue) authBy = now + _options.AuthTimeout;
                var by = bannerSeen ? authBy : connectBy;
                if (now >= by)
                {
                    connect.Cancel();
                    client.Dispose();
                    throw bannerSeen
                        ? new VfException("AuthTimeout", FailureKind.OperationTimeout,
                            $"{Host.Name} ({Host.Address}): SSH key exchange or authentication did not finish within {_options.AuthTimeout.TotalSeconds:0.#} s.", Host.Name)
                        : new VfException("ConnectTimeout", FailureKind.OperationTimeout,
                            $"{Host.Name} ({Host.Address}:{Host.Port}): no SSH answer within {_options.ConnectTimeout.TotalSeconds:0.#} s.", Host.Name);
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
        StartShell();
        if (UsesSudo) await CheckSudoAsync(ct);
    }

    /// <summary>A non-root user whose commands run through `sudo -n` (inventory: sudo: true).</summary>
    private bool UsesSudo => Host.Sudo && Host.User != "root";

    // A refused sudo is remembered for a while: the commands of the same run fail at once with the same error instead
    // of each reconnecting; a later run (after sudoers was fixed) tries again.
    private static readonly TimeSpan SudoRefusalMemory = TimeSpan.FromSeconds(30);
    private (string Id, string Message, DateTime At)? _sudoRefusal;

    private void ThrowIfSudoRefused()
    {
        if (_sudoRefusal is { } r && DateTime.UtcNow - r.At < SudoRefusalMemory)
            throw new VfException(r.Id, FailureKind.SecurityError, r.Message, Host.Name);
    }

    /// <summary>
    /// The session shell runs as `sudo -n /bin/sh`: sudo never prompts, it exits at once when it wants a password.
    /// One round trip proves the shell is there and root; when sudo refused, what it said becomes one clear error
    /// (SudoPasswordRequired, or SudoFailed) instead of a dropped connection on the first command.
    /// </summary>
    private async Task CheckSudoAsync(CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.AuthTimeout);
        int uid;
        try
        {
            await _stdin!.WriteAsync(Encoding.UTF8.GetBytes($"printf '\\n%s %s\\n' {_marker} \"$(id -u)\"; printf '\\n%s\\n' {_marker} >&2\n"), deadline.Token);
            await _stdin.FlushAsync(deadline.Token);
            (_, uid) = await _stdout!.ReadUntilAsync(_marker, withCode: true, deadline.Token);
            await _stderr!.ReadUntilAsync(_marker, withCode: false, deadline.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is OperationCanceledException or IOException or SshException
                                       or ObjectDisposedException or EndOfStreamException or ReplyException)
        {
            var said = (await _stderr!.ReadToEndAsync(TimeSpan.FromSeconds(2))).Trim();
            Drop();
            var password = said.Contains("password", StringComparison.OrdinalIgnoreCase);
            var id = password ? "SudoPasswordRequired" : "SudoFailed";
            var message = password
                ? $"{Host.Name}: sudo on the host wants a password from '{Host.User}' ({said}). VirtFleet runs its commands through 'sudo -n' and never answers a prompt: give '{Host.User}' passwordless sudo (NOPASSWD) on the host, or connect as root."
                : $"{Host.Name}: 'sudo -n /bin/sh' as '{Host.User}' did not start a root shell ({(said.Length > 0 ? said : ex.Message)}).";
            _sudoRefusal = (id, message, DateTime.UtcNow);
            throw new VfException(id, FailureKind.SecurityError, message, Host.Name, ex);
        }
        if (uid != 0)
        {
            Drop();
            var message = $"{Host.Name}: 'sudo -n /bin/sh' as '{Host.User}' gave a shell of uid {uid}, not root.";
            _sudoRefusal = ("SudoFailed", message, DateTime.UtcNow);
            throw new VfException("SudoFailed", FailureKind.SecurityError, message, Host.Name);
        }
        _sudoRefusal = null;
    }

    private void StartShell()
    {
        var shell = UsesSudo ? "exec sudo -n /bin/sh" : "exec /bin/sh";
        _shell = _client!.CreateCommand("LC_ALL=C " + shell);
        _ = _shell.ExecuteAsync(CancellationToken.None).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        _stdin = _shell.CreateInputStream();
        _stdout = new StreamCursor(_shell.OutputStream, "shell", _options.MaxOutputBytes);
        _stderr = new StreamCursor(_shell.ExtendedOutputStream, "shell stderr", _options.MaxOutputBytes);
    }

    internal ConnectionInfo BuildConnectionInfo()
    {
        var methods = new List<AuthenticationMethod>();
        var loaded = KeyFiles().Select(LoadKey).Where(k => k.Key is not null).ToList();
        var keys = loaded.Select(k => (IPrivateKeySource)k.Key!).ToArray();
        if (keys.Length > 0) methods.Add(new PrivateKeyAuthenticationMethod(Host.User, keys));
        // A secret that decrypted a private key is that key's passphrase: it never leaves this machine, and in
        // particular is never offered to a host as a login password.
        var isPassphrase = loaded.Any(k => k.Decrypted) && _options.Password == _options.KeyPassphrase;
        if (_options.Password is not null && !isPassphrase) methods.Add(new PasswordAuthenticationMethod(Host.User, _options.Password));
        if (methods.Count == 0)
            throw new VfException("NoCredentials", FailureKind.SecurityError,
                $"{Host.Name}: no usable private key ({string.Join(", ", KeyFiles())}) and no -Credential.", Host.Name);
        var info = new ConnectionInfo(Host.Address, Host.Port, Host.User, methods.ToArray())
        {
            Timeout = _options.AuthTimeout,
        };
        PreferKeyExchange(info.KeyExchangeAlgorithms, _options.KeyExchange ?? SshOptions.DefaultKeyExchange, Host.Name);
        PreferHostKeys(info.HostKeyAlgorithms, KnownHosts.Load(_options.KnownHostsPath).KeyTypesFor(Host.Address, Host.Port));
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
            catch (SshPassPhraseNullOrEmptyException) when (_options.KeyPassphrase is not null)
            {
                return (new PrivateKeyFile(path, _options.KeyPassphrase), true);
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

    private void Drop()
    {
        DropVirsh();
        lock (_forwards)
        {
            foreach (var f in _forwards) try { f.Stop(); f.Dispose(); } catch (Exception) { /* closing with its connection */ }
            _forwards.Clear();
        }
        try { _stdin?.Dispose(); } catch (Exception) { /* closing a dead channel */ }
        try { _shell?.Dispose(); } catch (Exception) { }
        try { _client?.Dispose(); } catch (Exception) { }
        _stdin = null; _shell = null; _client = null; _stdout = null; _stderr = null;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try { Drop(); } finally { _gate.Release(); }
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

    /// <summary>
    /// Reads one stream of a remote channel up to each reply's marker. SSH.NET's channel streams have no real
    /// asynchronous read (a ReadAsync blocks a thread-pool thread until data comes), so a dedicated background
    /// thread per stream does the blocking reads and hands the chunks over: waiting readers hold no thread, many
    /// hosts answering at once cannot starve the pool, and a command's deadline cancels the wait itself.
    /// </summary>
    internal sealed class StreamCursor
    {
        private readonly Channel<byte[]> _chunks =
            Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly MemoryStream _pending = new();
        private readonly string _what;
        private readonly long _limit;

        /// <param name="limit">The most bytes one reply may hold; a longer one is an <see cref="ReplyException"/>.</param>
        public StreamCursor(Stream stream, string what, long limit)
        {
            _what = what;
            _limit = limit;
            StartPump(stream, what, chunk => _chunks.Writer.TryWrite(chunk), error => _chunks.Writer.TryComplete(error));
        }

        /// <summary>Reads and discards a stream until it ends (a channel's stderr nobody reads).</summary>
        public static void Drain(Stream stream, string what) => StartPump(stream, what, null, null);

        private static void StartPump(Stream stream, string what, Action<byte[]>? chunk, Action<Exception?>? end)
        {
            var thread = new Thread(() =>
            {
                var buffer = new byte[64 * 1024];
                try
                {
                    int n;
                    while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) chunk?.Invoke(buffer[..n]);
                    end?.Invoke(null);
                }
                catch (Exception ex) { end?.Invoke(ex); }
            }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "vf-ssh " + what };
            thread.Start();
        }

        private async Task ReadMoreAsync(CancellationToken ct)
        {
            if (!await _chunks.Reader.WaitToReadAsync(ct)) throw new EndOfStreamException($"the remote {_what} closed");
            while (_chunks.Reader.TryRead(out var chunk)) _pending.Write(chunk);
            if (_pending.Length > _limit)
                throw new ReplyException("CommandOutputTooLarge",
                    $"a command's {_what} output passed {_limit / (1024 * 1024.0):0.#} MiB without ending; it was cut off and the session closed.");
        }

        private string Pending => Encoding.UTF8.GetString(_pending.GetBuffer(), 0, (int)_pending.Length);

        private void Keep(string rest)
        {
            var bytes = Encoding.UTF8.GetBytes(rest);
            _pending.SetLength(0);
            _pending.Write(bytes);
        }

        /// <summary>What the stream still holds and sends until it ends (or <paramref name="wait"/> passes).</summary>
        public async Task<string> ReadToEndAsync(TimeSpan wait)
        {
            using var cts = new CancellationTokenSource(wait);
            try { while (true) await ReadMoreAsync(cts.Token); }
            catch (Exception) { /* ended, timed out or broke: what came is what there is */ }
            return Pending;
        }

        /// <summary>Everything up to the first occurrence of <paramref name="marker"/>; what follows it is kept.</summary>
        public async Task<string> ReadUntilTextAsync(string marker, CancellationToken ct)
        {
            while (true)
            {
                var text = Pending;
                var at = text.IndexOf(marker, StringComparison.Ordinal);
                if (at >= 0)
                {
                    Keep(text[(at + marker.Length)..]);
                    return text[..at];
                }
                await ReadMoreAsync(ct);
            }
        }

        /// <summary>Everything up to a line starting with <paramref name="marker"/>, and the number after it.</summary>
        public async Task<(string Text, int Code)> ReadUntilAsync(string marker, bool withCode, CancellationToken ct)
        {
            var needle = "\n" + marker;
            while (true)
            {
                var text = Pending;
                var at = text.IndexOf(needle, StringComparison.Ordinal);
                var eol = at >= 0 ? text.IndexOf('\n', at + needle.Length) : -1;
                if (eol >= 0)
                {
                    var field = text.AsSpan(at + needle.Length, eol - at - needle.Length).Trim();
                    var code = 0;
                    if (withCode && !int.TryParse(field, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out code))
                        throw new ReplyException("ExitCodeUnreadable",
                            $"the {_what} ended a reply with '{field.ToString()}' where an exit code belongs; the command's outcome is unknown.");
                    Keep(text[(eol + 1)..]);
                    return (text[..at], code);
                }
                await ReadMoreAsync(ct);
            }
        }
    }
}

/// <summary>A reply that broke the session's protocol (<see cref="SshHost.StreamCursor"/>); its id becomes the error's.</summary>
internal sealed class ReplyException(string errorId, string message) : Exception(message)
{
    public string ErrorId { get; } = errorId;
}
