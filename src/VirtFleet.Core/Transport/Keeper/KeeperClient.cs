using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// A process's way to the user's keeper: finds it (or starts it, detached), checks that the socket's owner is this
/// user and that it is this build, and sends requests. When the keeper is absent, stale or refused, <see cref="IsUp"/>
/// is false with <see cref="Why"/>, and callers connect directly.
/// </summary>
public sealed class KeeperClient(string socketPath)
{
    private static KeeperClient? _shared;
    private readonly object _gate = new();
    private volatile bool _up;
    private long _retryAt;

    /// <summary>The user's keeper (the default socket), or null when it is turned off or has no place on this platform.</summary>
    public static KeeperClient? Shared
    {
        get
        {
            if (KeeperSettings.DisabledReason is not null) return null;
            var path = KeeperSettings.Socket;
            var shared = _shared;
            if (shared?.SocketPath != path) _shared = shared = new KeeperClient(path);
            return shared;
        }
    }

    /// <summary>
    /// The keeper program: vfkeeper.dll beside VirtFleet.Core (the module's deps/ folder). A host that loaded Core from
    /// elsewhere (a test) names the module's copy.
    /// </summary>
    public static string ProgramPath { get; set; } =
        Path.Combine(Path.GetDirectoryName(typeof(KeeperClient).Assembly.Location) ?? "", "vfkeeper.dll");

    public string SocketPath { get; } = socketPath;
    public bool IsUp => _up;
    /// <summary>What the last check found: the keeper in use, or why not.</summary>
    public string Why { get; private set; } = "not checked yet";
    /// <summary>The keeper's process id, once it answered.</summary>
    public int? Pid { get; private set; }

    /// <summary>
    /// True when a request was not served and nothing was done for it: no keeper answered, or the keeper refused this
    /// process (another build, another home folder, options it does not serve). The caller goes direct.
    /// </summary>
    public static bool Declined(Exception ex) => ex is KeeperUnreachableException or VfException { ErrorId: "KeeperRefused" };

    /// <summary>Options the keeper serves: strict host key checking (it never records a key) and no secrets (it keeps none).</summary>
    public static bool Accepts(SshOptions options) =>
        options.HostKeyPolicy == HostKeyPolicy.Strict && options.Password is null && options.KeyPassphrase is null;

    /// <summary>
    /// Makes sure a keeper of this build answers, starting one when none does (<paramref name="start"/>); at most one
    /// start per 30 s once one failed. Returns <see cref="IsUp"/>.
    /// </summary>
    public bool EnsureUp(bool start = true)
    {
        if (_up) return true;
        lock (_gate)
        {
            if (_up) return true;
            if (start && Environment.TickCount64 < Interlocked.Read(ref _retryAt)) return false;
            try
            {
                Task.Run(() => ConnectUpAsync(start)).GetAwaiter().GetResult();
                _up = true;
            }
            catch (Exception ex)
            {
                // Whatever went wrong (no runtime to start it with, a refused socket, a bug), the command goes on directly.
                Why = ex is KeeperUnreachableException or VfException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                // A keeper that would not start is not tried again by every command of a long session.
                if (start) Interlocked.Exchange(ref _retryAt, Environment.TickCount64 + 30_000);
            }
            return _up;
        }
    }

    private async Task ConnectUpAsync(bool start)
    {
        var (pid, version) = await PingAsync();
        if (pid is not null && version != KeeperServer.Version)
        {
            // Another build's keeper (the module was rebuilt or updated): it is asked to end and ours takes its place.
            try { await CallAsync(new KeeperRequest(KeeperOp.Stop), null, TimeSpan.FromSeconds(10), CancellationToken.None); }
            catch (Exception ex) when (ex is not OperationCanceledException) { }
            pid = null;
        }
        if (pid is null)
        {
            if (!start) throw new KeeperUnreachableException($"no keeper answers at {SocketPath}");
            await StartAsync();
            (pid, version) = await PingAsync();
            if (pid is null) throw new KeeperUnreachableException($"the keeper started at {SocketPath} does not answer");
            if (version != KeeperServer.Version)
                throw new KeeperUnreachableException($"the keeper program {ProgramPath} is another build ({version}) than this process's ({KeeperServer.Version})");
        }
        Pid = pid;
        Why = $"using the connection keeper at {SocketPath} (pid {pid})";
    }

    /// <summary>The keeper's pid and build, or (null, null) when nothing answers at the socket (absent or stale).</summary>
    private async Task<(int? Pid, string? Version)> PingAsync()
    {
        try
        {
            var r = await CallAsync(new KeeperRequest(KeeperOp.Ping), null, TimeSpan.FromSeconds(5), CancellationToken.None);
            return (r.ReadInt32(), r.ReadString());
        }
        catch (KeeperUnreachableException ex) when (ex.InnerException is SocketException)
        {
            // No socket file, or a stale one nobody listens on.
            return (null, null);
        }
    }

    /// <summary>True when a keeper of any build answers at <paramref name="path"/> (and is this user's).</summary>
    public static async Task<bool> AnswersAsync(string path)
    {
        try
        {
            await new KeeperClient(path).CallAsync(new KeeperRequest(KeeperOp.Ping), null, TimeSpan.FromSeconds(5), CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is KeeperUnreachableException or VfException or IOException or SocketException) { return false; }
    }

    /// <summary>Marks the keeper gone (it stopped answering); the next command checks again.</summary>
    public void MarkDown(string why)
    {
        _up = false;
        Why = why;
    }

    /// <summary>
    /// Sends one request and returns its result's body. Throws <see cref="KeeperUnreachableException"/> when nothing
    /// was sent (no socket, refused, another user's); the request's own error as it was thrown in the keeper; and
    /// ConnectionLost when the keeper went away during it (its effect is unknown). Cancelling hangs up, which cancels
    /// the request in the keeper. <paramref name="bound"/> is the request's bound; a keeper silent 30 s past it is left.
    /// </summary>
    public async Task<BinaryReader> CallAsync(KeeperRequest request, IProgress<long>? progress, TimeSpan bound, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct);
            }
            catch (SocketException ex)
            {
                throw new KeeperUnreachableException($"no keeper answers at {SocketPath} ({ex.Message})", ex);
            }
            if (!PeerCredentials.IsSameUser(socket, out var uid))
                throw new KeeperUnreachableException($"refused the keeper socket {SocketPath}: its owner is uid {uid?.ToString() ?? "unknown"}, not this user");
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(bound + TimeSpan.FromSeconds(30));
            try
            {
                await KeeperWire.WriteAsync(stream, request.ToFrame(), wait.Token);
                while (true)
                {
                    var frame = await KeeperWire.ReadAsync(stream, wait.Token) ?? throw new EndOfStreamException("the keeper closed the connection");
                    switch (frame.ReadByte())
                    {
                        case KeeperWire.Progress: progress?.Report(frame.ReadInt64()); continue;
                        case KeeperWire.Result: return frame;
                        case KeeperWire.Failure: throw KeeperWire.ReadFailure(frame);
                        default: throw new InvalidDataException("an unknown keeper frame");
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or EndOfStreamException
                                       || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                MarkDown($"the keeper stopped answering ({ex.Message})");
                var target = request.Host?.Name;
                throw new VfException("ConnectionLost", FailureKind.ConnectionError,
                    $"{target ?? "keeper"}: the connection keeper went away during a command ({ex.Message}); its effect is unknown until the host is read again.", target, ex);
            }
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// Starts the keeper (vfkeeper.dll beside VirtFleet.Core, on this process's .NET runtime) detached from this
    /// process: its own session, standard streams on pipes this process closes, so nothing waits for it. Returns once
    /// it says its socket answers (at most 10 s).
    /// </summary>
    private async Task StartAsync()
    {
        var dll = ProgramPath;
        if (!File.Exists(dll)) throw new KeeperUnreachableException($"the keeper program is not installed ({dll} is missing)");
        var info = new ProcessStartInfo(Dotnet())
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in new[] { "exec", dll, "--socket", SocketPath, "--idle", ((int)KeeperSettings.Idle.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info) ?? throw new KeeperUnreachableException("the keeper did not start"); }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new KeeperUnreachableException($"the keeper did not start: no .NET host to run it ({info.FileName}: {ex.Message})", ex);
        }
        using var owned = process;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            if (line != "ready")
            {
                var err = await process.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(2));
                throw new KeeperUnreachableException($"the keeper did not start: {(err.Trim().Length > 0 ? err.Trim().Split('\n')[0] : "exit before ready")}");
            }
        }
        catch (TimeoutException)
        {
            try { process.Kill(); } catch (Exception) { }
            throw new KeeperUnreachableException("the keeper did not answer within 10 s of its start");
        }
        finally
        {
            process.StandardInput.Close();
            process.StandardOutput.Close();
            process.StandardError.Close();
        }
    }

    /// <summary>
    /// The .NET host to run vfkeeper.dll with: this process's own runtime's (a framework-dependent process), else
    /// $DOTNET_ROOT's, else the usual install folders, else dotnet on PATH (a self-contained pwsh has no host of its own).
    /// </summary>
    private static string Dotnet()
    {
        var candidates = new List<string>
        {
            Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet")),
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && Path.IsPathRooted(root)) candidates.Add(Path.Combine(root, "dotnet"));
        candidates.AddRange(["/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet", "/usr/local/share/dotnet/dotnet"]);
        return candidates.FirstOrDefault(File.Exists) ?? "dotnet";
    }

    /// <summary>The connections the keeper holds (empty when it is not up).</summary>
    public async Task<IReadOnlyList<KeeperConnection>> ConnectionsAsync(CancellationToken ct)
    {
        if (!_up) return [];
        var r = await CallAsync(new KeeperRequest(KeeperOp.Connections), null, TimeSpan.FromSeconds(10), ct);
        var n = r.ReadInt32();
        var list = new List<KeeperConnection>(n);
        for (var i = 0; i < n; i++)
            list.Add(new KeeperConnection(r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadString(), r.ReadBoolean(), r.ReadInt32(), r.ReadInt64()));
        return list;
    }

    /// <summary>Closes the keeper's connections to the named hosts (all when none are named).</summary>
    public async Task CloseAsync(IReadOnlyList<string>? hostNames, CancellationToken ct)
    {
        if (!EnsureUp(start: false)) return;
        await CallAsync(new KeeperRequest(KeeperOp.Close) { Args = hostNames ?? [] }, null, TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>Ends the keeper (its connections close); true when one was running.</summary>
    public async Task<bool> StopAsync(CancellationToken ct)
    {
        if (!EnsureUp(start: false)) return false;
        try { await CallAsync(new KeeperRequest(KeeperOp.Stop), null, TimeSpan.FromSeconds(30), ct); }
        finally { MarkDown("stopped (Disconnect-VfHost -All)"); }
        return true;
    }
}
