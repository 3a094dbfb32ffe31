using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.Versioning;
using VirtFleet.Model;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// The per-user connection keeper: holds SSH connections (each with its long-lived shell and interactive virsh) for
/// later processes of the same user, on a Unix domain socket only that user can reach (a 0700 folder, and the peer's
/// uid checked on every connection; others are closed unanswered). One request per socket connection; the caller
/// hanging up cancels it. Requests with other connection options get their own connection, never a looser one. It
/// writes nothing but its socket, and ends after <c>idle</c> without requests, on Stop, or on SIGTERM.
/// </summary>
public sealed class KeeperServer(string socketPath, TimeSpan idle)
{
    /// <summary>The home folder the keeper resolves paths against; a caller with another is refused (tests set another).</summary>
    internal string Home { get; init; } = UserPaths.Home;

    /// <summary>
    /// This build's identity (the wire protocol and the version with its commit): a keeper serves only callers of the
    /// same, and a caller replaces a keeper of another.
    /// </summary>
    public static string Version { get; } = "1/" + (typeof(KeeperServer).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0");

    private readonly ConcurrentDictionary<(string Host, SshOptions Options), SshHost> _hosts = new();
    private readonly CancellationTokenSource _stop = new();
    private int _active;
    private long _lastRequest = Environment.TickCount64;
    private int _refused;

    public string SocketPath { get; } = socketPath;
    /// <summary>Connections closed unanswered because their peer was another user.</summary>
    public int Refused => _refused;

    public void Stop() => _stop.Cancel();

    /// <summary>
    /// Listens until idle, stopped or cancelled. <paramref name="ready"/> is called once the socket answers, whether
    /// this keeper's or (when another started first) the other's; then this one returns at once.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    public async Task RunAsync(Action? ready = null)
    {
        EnsureFolder(Path.GetDirectoryName(SocketPath)!);
        PoolHeadroom.Ensure(FanOut.DefaultThrottle); // the clients' fan-outs arrive here as that many hosts at once
        // A live keeper already there is left alone.
        using var listener = await KeeperSettings.ListenAsync(SocketPath, 128, () => KeeperClient.AnswersAsync(SocketPath));
        ready?.Invoke();
        if (listener is null) return;
        var watch = WatchIdleAsync();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            _stop.Cancel();
            listener.Close();
            // Removed only when nobody answers there any more (another keeper may have taken the path).
            if (!await KeeperClient.AnswersAsync(SocketPath)) File.Delete(SocketPath);
            await Task.WhenAll(_hosts.Values.Select(h => Task.Run(() => h.DisposeAsync().AsTask())));
            _hosts.Clear();
            await watch;
        }
    }

    /// <summary>Makes or checks the socket's folder (<see cref="KeeperSettings.FolderProblem"/>); throws KeeperFolderUnsafe when it is not private.</summary>
    [UnsupportedOSPlatform("windows")]
    public static void EnsureFolder(string folder)
    {
        if (KeeperSettings.FolderProblem(folder) is { } problem) throw new VfException("KeeperFolderUnsafe", FailureKind.SecurityError, problem);
    }

    private async Task WatchIdleAsync()
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Min(1000, idle.TotalMilliseconds / 2)));
        try
        {
            while (await tick.WaitForNextTickAsync(_stop.Token))
                if (Volatile.Read(ref _active) == 0 && Environment.TickCount64 - Interlocked.Read(ref _lastRequest) > idle.TotalMilliseconds)
                    _stop.Cancel();
        }
        catch (OperationCanceledException) { }
    }

    private async Task ServeAsync(Socket client)
    {
        using var owned = client;
        if (!PeerCredentials.IsSameUser(client, out _))
        {
            Interlocked.Increment(ref _refused);
            return;
        }
        Interlocked.Increment(ref _active);
        Interlocked.Exchange(ref _lastRequest, Environment.TickCount64);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var writeLock = new SemaphoreSlim(1, 1);
        try
        {
            KeeperRequest request;
            using (var first = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                first.CancelAfter(TimeSpan.FromSeconds(10));
                if (await KeeperWire.ReadAsync(stream, first.Token) is not { } frame) return;
                request = KeeperRequest.Read(frame);
            }
            // The caller sends nothing more: its end closing (Ctrl+C, its process gone) cancels the request.
            var hangup = Task.Run(async () =>
            {
                try { await client.ReceiveAsync(new byte[1], SocketFlags.None, work.Token); } catch (Exception) { }
                work.Cancel();
            });
            byte[] result;
            try { result = await HandleAsync(request, stream, writeLock, work.Token); }
            catch (Exception ex) when (ex is not OperationCanceledException || !work.IsCancellationRequested)
            {
                result = KeeperWire.FailureFrame(ex);
            }
            await writeLock.WaitAsync(work.Token);
            try { await KeeperWire.WriteAsync(stream, result, work.Token); } finally { writeLock.Release(); }
            if (request.Op == KeeperOp.Stop) _stop.Cancel();
        }
        catch (Exception) { /* the caller left or sent garbage: nothing to answer */ }
        finally
        {
            work.Cancel();
            Interlocked.Exchange(ref _lastRequest, Environment.TickCount64);
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task<byte[]> HandleAsync(KeeperRequest request, Stream stream, SemaphoreSlim writeLock, CancellationToken ct)
    {
        switch (request.Op)
        {
            case KeeperOp.Ping:
                return KeeperWire.Frame(w => { w.Write(KeeperWire.Result); w.Write(Environment.ProcessId); w.Write(Version); });
            case KeeperOp.Stop:
                return KeeperWire.Frame(w => w.Write(KeeperWire.Result));
            case KeeperOp.Connections:
                var list = _hosts.Values.OrderBy(h => h.Host.Name).ToList();
                return KeeperWire.Frame(w =>
                {
                    w.Write(KeeperWire.Result);
                    w.Write(list.Count);
                    foreach (var h in list)
                    {
                        w.Write(h.Host.Name); w.Write(h.Host.Address); w.Write(h.Host.Port); w.Write(h.Host.User);
                        w.Write(h.IsConnected); w.Write(h.Handshakes); w.Write(h.Commands);
                    }
                });
            case KeeperOp.Close:
                var closing = _hosts.Where(kv => request.Args.Count == 0 || request.Args.Contains(kv.Value.Host.Name, StringComparer.OrdinalIgnoreCase)).ToList();
                foreach (var kv in closing)
                    if (_hosts.TryRemove(kv)) await kv.Value.DisposeAsync();
                return KeeperWire.Frame(w => w.Write(KeeperWire.Result));
        }

        var host = Connection(request);
        var bound = request.Timeout ?? request.Options!.CommandTimeout;
        switch (request.Op)
        {
            case KeeperOp.Run:
                var reply = await host.RunAsync(request.Script ?? "", ct, request.Stdin, bound);
                return KeeperWire.Frame(w => { w.Write(KeeperWire.Result); w.Write(reply.ExitCode); w.Write(reply.Stdout); w.Write(reply.Stderr); });
            case KeeperOp.Virsh:
                using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    deadline.CancelAfter(bound);
                    IReadOnlyList<string> outputs;
                    try { outputs = await host.VirshAsync(request.Args, deadline.Token); }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        throw new VfException("CommandTimeout", FailureKind.OperationTimeout,
                            $"{host.Host.Name}: virsh did not answer within {bound.TotalSeconds:0.#} s.", host.Host.Name);
                    }
                    return KeeperWire.Frame(w => { w.Write(KeeperWire.Result); w.WriteStrings(outputs); });
                }
            case KeeperOp.Upload or KeeperOp.Download:
                if (request.Args.Count != 2) throw new ArgumentException("a copy names a local and a remote path");
                var progress = new FrameProgress(stream, writeLock, ct);
                if (request.Op == KeeperOp.Upload) await host.UploadAsync(request.Args[0], request.Args[1], progress, ct);
                else await host.DownloadAsync(request.Args[1], request.Args[0], progress, ct);
                return KeeperWire.Frame(w => w.Write(KeeperWire.Result));
            default:
                throw new ArgumentException($"unknown keeper request {request.Op}");
        }
    }

    /// <summary>The pooled connection for a request's host and options; requests the keeper must not serve are refused.</summary>
    private SshHost Connection(KeeperRequest request)
    {
        if (request.Host is not { } entry || request.Options is not { } options)
            throw new ArgumentException("a host request without its host or options");
        if (request.Version != Version)
            throw new VfException("KeeperRefused", FailureKind.SecurityError, "the keeper belongs to another VirtFleet build.");
        if (request.Home != Home)
            throw new VfException("KeeperRefused", FailureKind.SecurityError, $"the caller's home folder {request.Home} is not the keeper's {Home}.");
        if (!KeeperClient.Accepts(options))
            throw new VfException("KeeperRefused", FailureKind.SecurityError, "the keeper connects only with strict host key checking and without secrets.");
        entry.Validate();
        // One connection per host identity and per connection options (the command bound is per request), so a
        // request never rides on a connection made with other (looser) options.
        var key = ($"{entry.User}@{entry.Address}:{entry.Port}|{entry.KeyFile}|{entry.Sudo}|{entry.Name}", options with { CommandTimeout = TimeSpan.Zero });
        return _hosts.GetOrAdd(key, _ => new SshHost(entry, options with { CommandTimeout = TimeSpan.FromDays(1) }));
    }

    /// <summary>Copy progress sent to the caller as progress frames.</summary>
    private sealed class FrameProgress(Stream stream, SemaphoreSlim writeLock, CancellationToken ct) : IProgress<long>
    {
        private long _sent = -1;

        public void Report(long value)
        {
            // Every 1 MiB or so: progress is for a bar, not a byte count.
            if (value - Interlocked.Read(ref _sent) < (1 << 20) || !writeLock.Wait(0, ct)) return;
            try
            {
                Interlocked.Exchange(ref _sent, value);
                stream.Write(KeeperWire.Frame(w => { w.Write(KeeperWire.Progress); w.Write(value); }));
            }
            catch (Exception) { /* the caller left; the copy's own token ends it */ }
            finally { writeLock.Release(); }
        }
    }
}
