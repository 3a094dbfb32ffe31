using System.Security.Cryptography;
using System.Text;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// The session protocol every host transport shares: one long-lived `sh` (through `sudo -n` where the host needs it), each
/// command written to its stdin, run in a subshell with its own stdin, its output ending at a nonce marker line carrying
/// the exit code; one long-lived interactive virsh beside it. Commands are serialized; a broken session is dropped and
/// started again by the next command, never silently retried. Subclasses say how a command starts on the host (an SSH
/// exec channel, a local process) and how files and ports reach it.
/// </summary>
public abstract class ShellHost : IRemoteHost, IAsyncDisposable
{
    private protected readonly SshOptions Options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _marker = "__VF_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "__";
    private ShellChannel? _shell;
    private StreamCursor? _stdout, _stderr;
    private ShellChannel? _virsh;
    private StreamCursor? _virshOut;
    private bool _virshUnusable;
    private readonly SemaphoreSlim _virshGate = new(1, 1);
    private volatile bool _virshReady;
    private int _virshWarming;
    private long _commands;

    private protected ShellHost(HostEntry host, SshOptions options) { Host = host; Options = options; }

    public HostEntry Host { get; }
    public TimeSpan CommandTimeout => Options.CommandTimeout;
    /// <summary>Commands run through this connection.</summary>
    public long Commands => Interlocked.Read(ref _commands);
    public bool IsConnected => TransportUp && _shell is not null;
    /// <summary>How the host is reached: "ssh", or "local" for the machine this runs on.</summary>
    public abstract string Transport { get; }
    /// <summary>How many SSH handshakes this connection has made (1 while it stays up; 0 for a local host).</summary>
    public virtual int Handshakes => 0;

    /// <summary>True while the transport under the session (an SSH connection) is up.</summary>
    private protected abstract bool TransportUp { get; }
    /// <summary>Opens the transport (an SSH handshake); the session shell starts after it.</summary>
    private protected abstract Task OpenTransportAsync(CancellationToken ct);
    /// <summary>Starts fixed shell text (values in it quoted) as a command on the host, its streams open.</summary>
    private protected abstract ShellChannel Start(string command);
    /// <summary>Closes the transport and whatever lives on it (forwards).</summary>
    private protected abstract void CloseTransport();
    /// <summary>Commands run through `sudo -n` (a non-root user).</summary>
    private protected abstract bool UsesSudo { get; }
    /// <summary>The user sudo runs for, as error messages name it.</summary>
    private protected abstract string SudoUser { get; }
    /// <summary>What else a refused sudo can do ("connect as root").</summary>
    private protected abstract string RootAdvice { get; }
    /// <summary>How a session that broke mid-command is described ("the SSH connection dropped").</summary>
    private protected abstract string LostSession { get; }

    /// <summary>Errors that mean the session's channel broke (the SSH transport adds its own).</summary>
    private protected virtual bool IsChannelFailure(Exception ex) =>
        ex is OperationCanceledException or IOException or ObjectDisposedException or EndOfStreamException;

    // The native libvirt path (LibvirtTunnel + libvirt.so), brought up in the background after a first command.
    private readonly object _nativeLock = new();
    private LibvirtTunnel? _tunnel;
    private LibvirtNative.NativeLibvirtConnection? _nativeConnection;
    private NativeBackend? _native;
    private Task? _nativeOpening;
    private DateTime _nativeRetryAfter;
    private string _libvirtNote = "native not open yet (a first listing opens it); virsh until then";
    private VirshBackend? _virshBackend;

    /// <summary>After the native path failed on a host, how long it stays on virsh before trying again.</summary>
    internal static TimeSpan NativeRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    public ILibvirtBackend Libvirt =>
        _native is { } n && LibvirtChoice.For(Host).Native ? n : _virshBackend ??= new VirshBackend(this);

    /// <summary>
    /// While the native path is up: the URI libvirt.so reaches the host's libvirtd through (the tunnel's socket; each further
    /// connection gets a channel of its own), for a second connection such as an event subscription. Else null.
    /// </summary>
    public string? NativeLibvirtUri => _native is { } n && LibvirtChoice.For(Host).Native ? n.Uri : null;

    /// <summary>The path libvirt calls take now.</summary>
    public LibvirtPath LibvirtPath => Libvirt.Path;

    /// <summary>Why the host is on its path (auto, virsh asked for, the native path's failure...).</summary>
    public string LibvirtNote
    {
        get
        {
            var (native, reason) = LibvirtChoice.For(Host);
            if (!native) return reason;
            return _native is not null ? reason + ": " + NativeVia : _libvirtNote;
        }
    }

    /// <summary>Connections the native tunnel has carried (each its own exec channel).</summary>
    public int LibvirtChannels => _tunnel?.Channels ?? 0;

    public void PrepareLibvirt()
    {
        if (!LibvirtChoice.For(Host).Native)
        {
            PrepareVirsh();
            return;
        }
        _ = StartNative();
    }

    public async Task<ILibvirtBackend> OpenLibvirtAsync(CancellationToken ct)
    {
        if (!LibvirtChoice.For(Host).Native) return Libvirt;
        if (StartNative() is { } opening) await opening.WaitAsync(ct);
        return Libvirt;
    }

    /// <summary>The opening under way (started now if need be), or null when the path is up or waiting to retry.</summary>
    private Task? StartNative()
    {
        lock (_nativeLock)
        {
            if (_native is not null || DateTime.UtcNow < _nativeRetryAfter) return null;
            return _nativeOpening ??= Task.Run(OpenNativeAsync);
        }
    }

    /// <summary>How the native path reaches libvirtd, for <see cref="LibvirtNote"/>.</summary>
    private protected virtual string NativeVia => "libvirt.so through virt-ssh-helper over SSH";

    /// <summary>
    /// Where libvirt.so connects for this host, and what carries it (closed with the native path): a <see cref="LibvirtTunnel"/>
    /// whose every connection is a command of this session running libvirt's virt-ssh-helper (through sudo -n where the
    /// session uses sudo); fixed text only.
    /// </summary>
    private protected virtual (string Uri, LibvirtTunnel? Carrier) NativeEndpoint()
    {
        var helper = "virt-ssh-helper " + ShellQuote.Quote(HostScripts.HostScript.LibvirtUri);
        var tunnel = new LibvirtTunnel(() => Start("LC_ALL=C exec " + (UsesSudo ? "sudo -n " + helper : helper)));
        return (LibvirtNative.LibvirtUri.ForSocket(tunnel.SocketPath), tunnel);
    }

    /// <summary>
    /// Opens the native endpoint and a libvirt.so connection through it, within the connect and auth timeouts. Any failure leaves the host on
    /// virsh, with the reason (and what the host said) in <see cref="LibvirtNote"/>.
    /// </summary>
    private async Task OpenNativeAsync()
    {
        LibvirtTunnel? tunnel = null;
        try
        {
            await EnsureOpenAsync(CancellationToken.None);
            string uri;
            (uri, tunnel) = NativeEndpoint();
            var open = LibvirtNative.LibvirtThreads.Shared.Run(() => LibvirtNative.NativeLibvirtConnection.Open(uri)); // blocks: not on a pool thread
            LibvirtNative.NativeLibvirtConnection conn;
            try { conn = await open.WaitAsync(Options.ConnectTimeout + Options.AuthTimeout); }
            catch (TimeoutException)
            {
                _ = open.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); _ = t.Exception; }, TaskScheduler.Default);
                throw new VfException("LibvirtTimeout", FailureKind.OperationTimeout, "libvirtd did not answer through the tunnel in time");
            }
            lock (_nativeLock)
            {
                _tunnel = tunnel;
                _nativeConnection = conn;
                _native = new NativeBackend(Host.Name, conn, Options.CommandTimeout, e => DropNative(e, conn));
                tunnel = null;
            }
        }
        catch (Exception ex)
        {
            var said = tunnel?.HostSaid;
            tunnel?.Dispose();
            lock (_nativeLock) _nativeRetryAfter = DateTime.UtcNow + NativeRetryDelay;
            _libvirtNote = "native failed, using virsh: " + (ex is VfException vf ? vf.Message : ex.GetType().Name + ": " + ex.Message)
                + (string.IsNullOrWhiteSpace(said) ? "" : $" (host said: {said.ReplaceLineEndings(" ")})");
            PrepareVirsh();
        }
        finally
        {
            lock (_nativeLock) _nativeOpening = null;
        }
    }

    /// <summary>Closes the native path (a call broke or timed out, or the connection dropped); virsh serves until it reopens.</summary>
    private void DropNative(Exception? why = null, LibvirtNative.NativeLibvirtConnection? only = null)
    {
        LibvirtTunnel? tunnel;
        LibvirtNative.NativeLibvirtConnection? conn;
        NativeBackend? backend;
        lock (_nativeLock)
        {
            if (only is not null && !ReferenceEquals(only, _nativeConnection)) return;
            (tunnel, conn, backend) = (_tunnel, _nativeConnection, _native);
            (_tunnel, _nativeConnection, _native) = (null, null, null);
            if (why is not null)
            {
                _nativeRetryAfter = DateTime.UtcNow + NativeRetryDelay;
                _libvirtNote = "native dropped, using virsh: " + why.Message;
            }
        }
        // The tunnel first: a call stuck in libvirt sees its socket close and returns.
        tunnel?.Dispose();
        backend?.Dispose(); // the domains it keeps hold the connection
        conn?.Dispose();
    }

    public void LibvirtChanged() => _native?.Changed(null);

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

    public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        var queued = Util.VfTrace.Now;
        await _gate.WaitAsync(ct);
        using var span = Util.VfTrace.Time($"{Host.Name} exec (waited {Util.VfTrace.Now - queued:0.0} ms for the shell)");
        try
        {
            ThrowIfSudoRefused();
            if (!IsConnected) await ConnectAsync(ct);
            Interlocked.Increment(ref _commands);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var limit = timeout ?? Options.CommandTimeout;
            deadline.CancelAfter(limit);
            try
            {
                var request = Encoding.UTF8.GetBytes(Wrap(script, stdin));
                await _shell!.Stdin.WriteAsync(request, deadline.Token);
                await _shell.Stdin.FlushAsync(deadline.Token);
                var outTask = _stdout!.ReadUntilAsync(_marker, withCode: true, deadline.Token);
                var errTask = _stderr!.ReadUntilAsync(_marker, withCode: false, deadline.Token);
                var (stdout, code) = await outTask;
                var (stderr, _) = await errTask;
                return new CommandResult(code, stdout, stderr);
            }
            catch (ReplyException ex)
            {
                // The reply broke the protocol (too long, or no exit code where one must be): the shell's position in
                // its output is lost, so it is dropped; the next command starts a new one.
                Drop();
                throw new VfException(ex.ErrorId, FailureKind.InvalidData, $"{Host.Name}: {ex.Message}", Host.Name, ex);
            }
            catch (Exception ex) when (IsChannelFailure(ex))
            {
                // The shell is in an unknown state: drop it; the next command starts a new one.
                Drop();
                if (ct.IsCancellationRequested) throw;
                if (ex is OperationCanceledException)
                    throw new VfException("CommandTimeout", FailureKind.OperationTimeout,
                        $"{Host.Name}: a command did not finish within {limit.TotalSeconds:0.#} s; the session was closed.", Host.Name, ex);
                throw new VfException("ConnectionLost", FailureKind.ConnectionError,
                    $"{Host.Name}: {LostSession} during a command ({ex.Message}); its effect is unknown until the host is read again.", Host.Name, ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Opens the session if it is not (a refused sudo fails at once).</summary>
    private protected async Task EnsureOpenAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try { ThrowIfSudoRefused(); if (!IsConnected) await ConnectAsync(ct); } finally { _gate.Release(); }
    }

    public async Task<IReadOnlyList<string>> VirshAsync(IReadOnlyList<string> commands, CancellationToken ct)
    {
        if (_virshUnusable) throw new NotSupportedException("interactive virsh did not answer as expected on this host");
        if (commands.Any(c => c.Contains('\n') || c.Contains('\r')))
            throw new ArgumentException("a virsh command contains a newline", nameof(commands));
        // Its own channel and gate: the shell keeps serving commands while virsh answers.
        await _virshGate.WaitAsync(ct);
        try
        {
            if (!IsConnected) await EnsureOpenAsync(ct);
            if (_virsh is null) StartVirsh();
            Interlocked.Increment(ref _commands);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(Options.CommandTimeout);
            var end = "@@VF-END-" + _marker[5..^2] + "@@";
            try
            {
                // virsh's echo prints no newline, and its output is line-buffered: the trailing `uri` echoes a
                // full line right after the marker, so the reply arrives at once. Waiting for the marker followed
                // by that prompt skips the marker's copy in the echoed command line.
                await _virsh!.Stdin.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', commands) + "\necho " + end + "\nuri\n"), deadline.Token);
                await _virsh.Stdin.FlushAsync(deadline.Token);
                var raw = await _virshOut!.ReadUntilTextAsync(end + VirshPrompt + "uri\n", deadline.Token);
                return SplitVirshOutput(raw, commands) ?? throw Unusable();
            }
            catch (ReplyException ex)
            {
                DropVirsh();
                throw new VfException(ex.ErrorId, FailureKind.InvalidData, $"{Host.Name}: {ex.Message}", Host.Name, ex);
            }
            catch (Exception ex) when (IsChannelFailure(ex))
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
        _virsh = Start("LC_ALL=C exec " + (UsesSudo ? "sudo -n " + virsh : virsh));
        _virshOut = new StreamCursor(_virsh.Stdout, "virsh", Options.MaxOutputBytes);
        StreamCursor.Drain(_virsh.Stderr, "virsh stderr");
    }

    private void DropVirsh()
    {
        try { _virsh?.Dispose(); } catch (Exception) { /* a dead channel */ }
        _virsh = null; _virshOut = null;
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

    private async Task ConnectAsync(CancellationToken ct)
    {
        using var span = Util.VfTrace.Time($"{Host.Name} connect ({Transport})");
        Drop();
        await OpenTransportAsync(ct);
        _shell = Start("LC_ALL=C " + (UsesSudo ? "exec sudo -n /bin/sh" : "exec /bin/sh"));
        _stdout = new StreamCursor(_shell.Stdout, "shell", Options.MaxOutputBytes);
        _stderr = new StreamCursor(_shell.Stderr, "shell stderr", Options.MaxOutputBytes);
        if (UsesSudo) await CheckSudoAsync(ct);
    }

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
    /// (SudoPasswordRequired, or SudoFailed) instead of a dropped session on the first command.
    /// </summary>
    private async Task CheckSudoAsync(CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(Options.AuthTimeout);
        int uid;
        try
        {
            await _shell!.Stdin.WriteAsync(Encoding.UTF8.GetBytes($"printf '\\n%s %s\\n' {_marker} \"$(id -u)\"; printf '\\n%s\\n' {_marker} >&2\n"), deadline.Token);
            await _shell.Stdin.FlushAsync(deadline.Token);
            (_, uid) = await _stdout!.ReadUntilAsync(_marker, withCode: true, deadline.Token);
            await _stderr!.ReadUntilAsync(_marker, withCode: false, deadline.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && (IsChannelFailure(ex) || ex is ReplyException))
        {
            var said = (await _stderr!.ReadToEndAsync(TimeSpan.FromSeconds(2))).Trim();
            Drop();
            var password = said.Contains("password", StringComparison.OrdinalIgnoreCase);
            var id = password ? "SudoPasswordRequired" : "SudoFailed";
            var message = password
                ? $"{Host.Name}: sudo on the host wants a password from '{SudoUser}' ({said}). VirtFleet runs its commands through 'sudo -n' and never answers a prompt: give '{SudoUser}' passwordless sudo (NOPASSWD) on the host, or {RootAdvice}."
                : $"{Host.Name}: 'sudo -n /bin/sh' as '{SudoUser}' did not start a root shell ({(said.Length > 0 ? said : ex.Message)}).";
            _sudoRefusal = (id, message, DateTime.UtcNow);
            throw new VfException(id, FailureKind.SecurityError, message, Host.Name, ex);
        }
        if (uid != 0)
        {
            Drop();
            var message = $"{Host.Name}: 'sudo -n /bin/sh' as '{SudoUser}' gave a shell of uid {uid}, not root.";
            _sudoRefusal = ("SudoFailed", message, DateTime.UtcNow);
            throw new VfException("SudoFailed", FailureKind.SecurityError, message, Host.Name);
        }
        _sudoRefusal = null;
    }

    /// <summary>
    /// Copies a file to root's folders for a user with sudo: streamed into `sudo -n sh -c 'cat > partial'` (its own command
    /// beside the session shell), written with umask 077 under a temporary name and renamed when complete; a failed copy
    /// leaves no partial file.
    /// </summary>
    private protected async Task UploadThroughSudoAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        await EnsureOpenAsync(ct);
        var tmp = remotePath + ".vf-partial";
        const string Copy = "umask 077; cat > \"$1\" && mv -f -- \"$1\" \"$2\"";
        using var copy = Start("LC_ALL=C exec sudo -n /bin/sh -c " + ShellQuote.Join(Copy, "sh", tmp, remotePath));
        await using var stop = ct.Register(copy.Dispose);
        var said = ReadAllAsync(copy.Stderr);
        try
        {
            await using (var src = File.OpenRead(localPath)) await CopyAsync(src, copy.Stdin, progress, ct);
            copy.Stdin.Dispose(); // end of file: cat ends, the rename runs
            var code = await copy.ExitAsync();
            if (code != 0)
                throw new VfException("UploadFailed", FailureKind.InvalidOperation,
                    $"{Host.Name}: copying {Path.GetFileName(localPath)} to {remotePath} through sudo failed (exit {code}): {(await said).Trim()}", Host.Name);
        }
        catch (Exception ex)
        {
            await RemovePartialAsync(tmp);
            if (ex is VfException) throw;
            ct.ThrowIfCancellationRequested();
            throw new VfException("UploadFailed", FailureKind.ConnectionError,
                $"{Host.Name}: copying {Path.GetFileName(localPath)} to {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>Copies root's file for a user with sudo, streamed from `sudo -n cat`. A failed copy leaves a partial local file for the caller.</summary>
    private protected async Task DownloadThroughSudoAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        await EnsureOpenAsync(ct);
        using var cat = Start("LC_ALL=C exec sudo -n cat -- " + ShellQuote.Quote(remotePath));
        await using var stop = ct.Register(cat.Dispose);
        var said = ReadAllAsync(cat.Stderr);
        try
        {
            await using (var dst = File.Create(localPath)) await CopyAsync(cat.Stdout, dst, progress, ct);
            var code = await cat.ExitAsync();
            if (code != 0)
                throw new VfException("DownloadFailed", FailureKind.InvalidOperation,
                    $"{Host.Name}: copying {remotePath} through sudo failed (exit {code}): {(await said).Trim()}", Host.Name);
        }
        catch (Exception ex) when (ex is not VfException)
        {
            ct.ThrowIfCancellationRequested();
            throw new VfException("DownloadFailed", FailureKind.ConnectionError, $"{Host.Name}: copying {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>
    /// Runs a long-lived command of fixed text beside the session (its own channel or process, through sudo -n where the
    /// session uses sudo), each line it prints handed to <paramref name="onLine"/> as it comes. The host side ends the
    /// command when its standard input closes (a watcher in the same shell), so cancelling leaves nothing running there.
    /// </summary>
    public async Task StreamLinesAsync(string command, Action<string> onLine, CancellationToken ct)
    {
        await EnsureOpenAsync(ct);
        // fd 3 keeps the channel's stdin for the watcher (a background list's stdin is /dev/null); when it reads end of
        // file (the channel closed: cancelled, or the connection dropped) it signals the command, which `exec` made $$.
        var watched = "exec 3<&0; (cat <&3 >/dev/null 2>&1; kill $$ 2>/dev/null) & exec 3<&-; exec " + command;
        ShellChannel channel;
        try { channel = Start("LC_ALL=C exec " + (UsesSudo ? "sudo -n " : "") + "/bin/sh -c " + ShellQuote.Quote(watched)); }
        catch (Exception ex) when (IsChannelFailure(ex) || ex is InvalidOperationException)
        {
            throw new VfException("ConnectionLost", FailureKind.ConnectionError, $"{Host.Name}: could not start a command beside the session ({ex.Message}).", Host.Name, ex);
        }
        using var _ = channel;
        var said = new StringBuilder();
        var lines = LineThread(channel.Stdout, onLine, "stream " + Host.Name);
        var errors = LineThread(channel.Stderr, l => { lock (said) if (said.Length < 4096) said.AppendLine(l); }, "stream stderr " + Host.Name);
        int code;
        try
        {
            code = await channel.ExitAsync().WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            channel.Dispose();
            throw;
        }
        catch (Exception ex) when (IsChannelFailure(ex))
        {
            throw new VfException("ConnectionLost", FailureKind.ConnectionError, $"{Host.Name}: {LostSession} while streaming ({ex.Message}).", Host.Name, ex);
        }
        await Task.WhenAny(Task.WhenAll(lines, errors), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        ct.ThrowIfCancellationRequested();
        if (code != 0)
        {
            string text;
            lock (said) text = said.ToString().Trim();
            throw new VfException("StreamEnded", FailureKind.ConnectionError,
                $"{Host.Name}: the streaming command ended (exit {code}){(text.Length > 0 ? ": " + text.ReplaceLineEndings(" ") : "")}.", Host.Name);
        }
    }

    /// <summary>Reads a stream's lines on a thread of its own (the channel streams block), each handed on as it comes.</summary>
    private static Task LineThread(Stream stream, Action<string> onLine, string what)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                using var reader = new StreamReader(stream, Encoding.UTF8);
                while (reader.ReadLine() is { } line) onLine(line);
            }
            catch (Exception) { /* the channel closed under the reader: the command's end says why */ }
            finally { done.TrySetResult(); }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "vf " + what };
        thread.Start();
        return done.Task;
    }

    /// <summary>Copies a stream, reporting the bytes done so far.</summary>
    private protected static async Task CopyAsync(Stream src, Stream dst, IProgress<long>? progress, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        long done = 0;
        int n;
        while ((n = await src.ReadAsync(buffer, ct)) > 0)
        {
            await dst.WriteAsync(buffer.AsMemory(0, n), ct);
            progress?.Report(done += n);
        }
        await dst.FlushAsync(ct);
    }

    /// <summary>A command's standard error (a few lines at most), read on its own thread.</summary>
    private static Task<string> ReadAllAsync(Stream stream) => Task.Factory.StartNew(() =>
    {
        try { using var reader = new StreamReader(stream, Encoding.UTF8); return reader.ReadToEnd(); }
        catch (Exception ex) { return ex.Message; }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private protected async Task RemovePartialAsync(string path)
    {
        try { await RunAsync("rm -f -- " + ShellQuote.Quote(path), CancellationToken.None, timeout: TimeSpan.FromSeconds(30)); }
        catch (VfException) { /* the host is gone; the staging folder is removed with it by the caller's cleanup */ }
    }

    public abstract Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct);
    public abstract Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct);
    public abstract Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct);

    /// <summary>Ends the session: virsh, the shell and the transport.</summary>
    private protected void Drop()
    {
        DropNative();
        DropVirsh();
        try { _shell?.Dispose(); } catch (Exception) { /* closing a dead channel */ }
        _shell = null; _stdout = null; _stderr = null;
        try { CloseTransport(); } catch (Exception) { /* closing a dead transport */ }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try { Drop(); } finally { _gate.Release(); }
    }
}
