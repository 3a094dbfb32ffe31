using System.Diagnostics;
using System.Net.Sockets;
using VirtFleet.Model;
using VirtFleet.Transport;
using VirtFleet.Transport.Keeper;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The per-user connection keeper, in process: framing, its socket's folder and peer checks, idle end, stale sockets, errors.</summary>
public sealed class KeeperTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vfk-test-" + Guid.NewGuid().ToString("N")[..8]);
    private string Socket => Path.Combine(_folder, "keeper.sock");

    public KeeperTests() => Directory.CreateDirectory(_folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>A throw-away private key (the direct and kept connections need one to get as far as the TCP connect).</summary>
    private string Key()
    {
        var path = Path.Combine(_folder, "id");
        if (!File.Exists(path))
            using (var p = Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path])) p.WaitForExit();
        return path;
    }

    private async Task<(KeeperServer Server, Task Run)> StartAsync(TimeSpan? idle = null, string? home = null)
    {
        var server = new KeeperServer(Socket, idle ?? TimeSpan.FromMinutes(1)) { Home = home ?? UserPaths.Home };
        var ready = new TaskCompletionSource();
        var run = Task.Run(() => server.RunAsync(() => ready.TrySetResult()));
        await Task.WhenAny(ready.Task, run).WaitAsync(TimeSpan.FromSeconds(10));
        if (run.IsFaulted) await run;
        return (server, run);
    }

    [Fact]
    public async Task RequestsSurviveTheirFraming()
    {
        var request = new KeeperRequest(KeeperOp.Run)
        {
            Host = new HostEntry { Name = "h1", Address = "198.51.100.7", Port = 2222, User = "admin", KeyFile = "/k/id", Sudo = true },
            Options = new SshOptions { HostKeyPolicy = HostKeyPolicy.Strict, KnownHostsPath = "/k/known_hosts", KeyExchange = "curve25519-sha256", MaxOutputBytes = 1234 },
            Script = "echo 'a\nb' $(id)", Stdin = [0, 1, 2, 255], Timeout = TimeSpan.FromSeconds(42), Args = ["list --all", "dumpxml x"],
        };
        using var ms = new MemoryStream(request.ToFrame());
        var back = KeeperRequest.Read((await KeeperWire.ReadAsync(ms, CancellationToken.None))!);
        Assert.Equal(request.Op, back.Op);
        Assert.Equal(request.Script, back.Script);
        Assert.Equal(request.Stdin, back.Stdin);
        Assert.Equal(request.Timeout, back.Timeout);
        Assert.Equal(request.Args, back.Args);
        Assert.Equal(request.Options, back.Options);
        Assert.Equal(("h1", "198.51.100.7", 2222, "admin", "/k/id", true),
            (back.Host!.Name, back.Host.Address, back.Host.Port, back.Host.User, back.Host.KeyFile, back.Host.Sudo));
        Assert.Null(await KeeperWire.ReadAsync(ms, CancellationToken.None));
    }

    [Fact]
    public async Task ErrorsKeepTheirIdKindAndTarget()
    {
        using var ms = new MemoryStream(KeeperWire.FailureFrame(new VfException("HostKeyChanged", FailureKind.SecurityError, "changed!", "vfh1")));
        var r = (await KeeperWire.ReadAsync(ms, CancellationToken.None))!;
        Assert.Equal(KeeperWire.Failure, r.ReadByte());
        var ex = Assert.IsType<VfException>(KeeperWire.ReadFailure(r));
        Assert.Equal(("HostKeyChanged", FailureKind.SecurityError, "changed!", "vfh1"), (ex.ErrorId, ex.Kind, ex.Message, ex.Target));
    }

    [Fact]
    public async Task TruncatedOrHugeFramesAreRefused()
    {
        await Assert.ThrowsAsync<EndOfStreamException>(() => KeeperWire.ReadAsync(new MemoryStream([5, 0]), CancellationToken.None));
        await Assert.ThrowsAsync<InvalidDataException>(() => KeeperWire.ReadAsync(new MemoryStream([255, 255, 255, 127]), CancellationToken.None));
    }

    [Fact]
    public async Task AnswersItsUserAndStopsOnRequest()
    {
        var (server, run) = await StartAsync();
        var client = new KeeperClient(Socket);
        Assert.True(client.EnsureUp(start: false), client.Why);
        Assert.Equal(Environment.ProcessId, client.Pid);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Socket));
        Assert.Empty(await client.ConnectionsAsync(CancellationToken.None));
        Assert.True(await client.StopAsync(CancellationToken.None));
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(Socket));
        Assert.False(client.EnsureUp(start: false));
        Assert.Equal(0, server.Refused);
    }

    [Fact]
    public async Task EndsWhenIdle()
    {
        var (_, run) = await StartAsync(TimeSpan.FromSeconds(1));
        Assert.True(await KeeperClient.AnswersAsync(Socket));
        var watch = Stopwatch.StartNew();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.5, 5);
        Assert.False(File.Exists(Socket));
    }

    [Fact]
    public async Task AStaleSocketIsTakenOver()
    {
        // A keeper that died: the file stays, nobody listens (python, as .NET removes the file when its socket closes).
        using (var p = Process.Start("/usr/bin/python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", Socket])) p.WaitForExit();
        Assert.True(File.Exists(Socket));
        var client = new KeeperClient(Socket);
        Assert.False(client.EnsureUp(start: false));
        Assert.Contains("no keeper answers", client.Why);
        var (_, run) = await StartAsync();
        Assert.True(await KeeperClient.AnswersAsync(Socket));
        await new KeeperClient(Socket).StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ASecondKeeperLeavesTheFirstAlone()
    {
        var (_, first) = await StartAsync();
        var second = new KeeperServer(Socket, TimeSpan.FromMinutes(1));
        var ready = false;
        await second.RunAsync(() => ready = true).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(ready);
        Assert.False(first.IsCompleted);
        Assert.True(await KeeperClient.AnswersAsync(Socket));
        await new KeeperClient(Socket).StopAsync(CancellationToken.None);
        await first.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void AFolderOthersCanEnterIsRefused()
    {
        File.SetUnixFileMode(_folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
        var ex = Assert.Throws<VfException>(() => KeeperServer.EnsureFolder(_folder));
        Assert.Equal("KeeperFolderUnsafe", ex.ErrorId);
        var link = _folder + ".link";
        File.SetUnixFileMode(_folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateSymbolicLink(link, _folder);
        try { Assert.Equal("KeeperFolderUnsafe", Assert.Throws<VfException>(() => KeeperServer.EnsureFolder(link)).ErrorId); }
        finally { Directory.Delete(link); }
        var fresh = Path.Combine(_folder, "new");
        KeeperServer.EnsureFolder(fresh);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fresh) & (UnixFileMode)0x1ff);
    }

    [Fact]
    public async Task AnotherUserIsClosedUnanswered()
    {
        if (PeerCredentials.EffectiveUid != 0 || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3"))
            return;   // needs root to become another user
        var (server, run) = await StartAsync();
        // Opened up on purpose, so only the peer check stands between that user and the keeper.
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1ed);   // 0755
        File.SetUnixFileMode(Socket, (UnixFileMode)0x1ff);    // 0777
        var ping = new KeeperRequest(KeeperOp.Ping).ToFrame();
        var script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n" +
                     "try:\n s.sendall(bytes.fromhex(sys.argv[2]))\n d=s.recv(100)\nexcept (ConnectionResetError, BrokenPipeError):\n d=b''\n" +
                     "print('answered' if d else 'closed')";
        var psi = new ProcessStartInfo("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, Socket, Convert.ToHexString(ping)])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(output.Trim() == "closed", output + err);
        Assert.Equal(1, server.Refused);
        Assert.True(await KeeperClient.AnswersAsync(Socket));   // its own user still gets answers
        await new KeeperClient(Socket).StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ItServesOnlyStrictSecretFreeRequestsOfItsBuild()
    {
        var (_, run) = await StartAsync();
        var client = new KeeperClient(Socket);
        Assert.True(client.EnsureUp(start: false));
        var host = new HostEntry { Name = "h", Address = "127.0.0.1", Port = 1, KeyFile = Key() };
        async Task<VfException> Refusal(KeeperRequest r) =>
            await Assert.ThrowsAsync<VfException>(() => client.CallAsync(r, null, TimeSpan.FromSeconds(10), CancellationToken.None));
        var run1 = new KeeperRequest(KeeperOp.Run) { Host = host, Options = new SshOptions(), Script = "true" };
        Assert.Equal("KeeperRefused", (await Refusal(run1 with { Options = new SshOptions { HostKeyPolicy = HostKeyPolicy.AcceptNew } })).ErrorId);
        // Secrets never travel: the frame of a request with a password does not carry it (and the pool never sends one).
        var secret = run1 with { Options = new SshOptions { Password = "s3cret-pw", KeyPassphrase = "s3cret-pp" } };
        Assert.DoesNotContain("s3cret", System.Text.Encoding.UTF8.GetString(secret.ToFrame()));
        Assert.Equal("KeeperRefused", (await Refusal(run1 with { Version = "another" })).ErrorId);
        Assert.Equal("KeeperRefused", (await Refusal(run1 with { Home = "/elsewhere" })).ErrorId);
        // A host that refuses the connection: the direct connection's own error, id and host intact.
        var refused = await Refusal(run1 with { Options = new SshOptions { KnownHostsPath = Path.Combine(_folder, "known_hosts") } });
        Assert.Equal(("ConnectionRefused", "h"), (refused.ErrorId, refused.Target));
        Assert.False(KeeperClient.Accepts(new SshOptions { KeyPassphrase = "p" }));
        await client.StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AHostGoesDirectWhenTheKeeperIsGone()
    {
        // No keeper at the socket: the pool hands out direct connections, and a KeeperHost whose keeper went away falls back.
        var client = new KeeperClient(Socket);
        var pool = new ConnectionPool { Keeper = client };
        var entry = new HostEntry { Name = "h", Address = "127.0.0.1", Port = 1, KeyFile = Key() };
        Assert.IsType<SshHost>(pool.Connect(entry, new SshOptions()));
        var (_, run) = await StartAsync();
        Assert.True(client.EnsureUp(start: false));
        var kept = Assert.IsType<KeeperHost>(pool.Connect(entry, new SshOptions()));
        Assert.IsType<SshHost>(pool.Connect(entry, new SshOptions { HostKeyPolicy = HostKeyPolicy.AcceptNew }));
        await new KeeperClient(Socket).StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        var ex = await Assert.ThrowsAsync<VfException>(() => kept.RunAsync("true", CancellationToken.None, timeout: TimeSpan.FromSeconds(5)));
        Assert.Equal("ConnectionRefused", ex.ErrorId);   // from the direct connection: port 1 refuses
        Assert.False(client.IsUp);
        Assert.Contains("no keeper answers", client.Why);
    }

    [Fact]
    public async Task AHostGoesDirectWhenTheKeeperRefusesThisProcess()
    {
        // A keeper of the same user started with another home folder (a cron job, sudo without -H) refuses this process's
        // requests: the command goes direct instead of failing with the refusal.
        var (_, run) = await StartAsync(home: "/elsewhere");
        var client = new KeeperClient(Socket);
        Assert.True(client.EnsureUp(start: false));
        var pool = new ConnectionPool { Keeper = client };
        var kept = Assert.IsType<KeeperHost>(pool.Connect(new HostEntry { Name = "h", Address = "127.0.0.1", Port = 1, KeyFile = Key() }, new SshOptions()));
        var ex = await Assert.ThrowsAsync<VfException>(() => kept.RunAsync("true", CancellationToken.None, timeout: TimeSpan.FromSeconds(5)));
        Assert.Equal("ConnectionRefused", ex.ErrorId);   // from the direct connection: port 1 refuses
        Assert.False(client.IsUp);
        Assert.Contains("home folder", client.Why);
        await client.StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task LocalAndNativeAskedHostsStayDirectAndKeptHostsListThroughTheKeepersVirsh()
    {
        var (_, run) = await StartAsync();
        var client = new KeeperClient(Socket);
        Assert.True(client.EnsureUp(start: false));
        var pool = new ConnectionPool { Keeper = client };
        var options = new SshOptions();
        var kept = Assert.IsType<KeeperHost>(pool.Connect(new HostEntry { Name = "h", Address = "127.0.0.1", Port = 1, KeyFile = Key() }, options));
        // Listings go through the keeper's long-lived virsh, from the first call; no direct connection is made for them.
        Assert.Equal(LibvirtPath.Virsh, kept.Libvirt.Path);
        Assert.True(kept.VirshReady);
        kept.PrepareLibvirt();
        Assert.Equal(0, pool.Count);
        // A host asked to be native (libvirt.so runs in this process, over its own connection) and a local host stay direct.
        Assert.IsType<SshHost>(pool.Connect(new HostEntry { Name = "n", Address = "127.0.0.1", Port = 1, KeyFile = Key(), Libvirt = "native" }, options));
        Assert.IsAssignableFrom<LocalHost>(pool.Connect(new HostEntry { Name = "l", Local = true }, options));
        await pool.DisposeAsync();
        await client.StopAsync(CancellationToken.None);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
