using System.Diagnostics;
using System.Text;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// The local transport (Add-VfHost -Local) against this machine's real /bin/sh: the same session protocol as over SSH
/// (markers, exit codes, stderr, stdin, timeouts, output bounds), files copied in place, no libvirt needed.
/// </summary>
public class LocalHostTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vf-local-").FullName;
    private LocalHost _host = null!;

    private static HostEntry Entry(string name = "self") => new() { Name = name, Address = "", User = "", Local = true };

    public Task InitializeAsync()
    {
        _host = new LocalHost(Entry(), new SshOptions { CommandTimeout = TimeSpan.FromSeconds(20), MaxOutputBytes = 1 << 20 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static bool IsRoot => Environment.IsPrivilegedProcess;

    [Fact]
    public async Task RunsCommandsInOneLongLivedShellWithExitCodesAndBothStreams()
    {
        var r = await _host.RunAsync("echo out; echo err >&2; exit 3", default);
        Assert.Equal((3, "out\n", "err\n"), (r.ExitCode, r.Stdout, r.Stderr));
        // Each command runs in a subshell of the same session shell ($$ is that shell's process).
        var first = (await _host.RunAsync("echo $$", default)).Stdout;
        var second = (await _host.RunAsync("cd /; echo $$", default)).Stdout;
        Assert.Equal(first, second);
        Assert.Equal(_dir + "\n", (await _host.RunAsync("cd " + ShellQuote.Quote(_dir) + " && pwd", default)).Stdout);
        Assert.NotEqual(_dir + "\n", (await _host.RunAsync("pwd", default)).Stdout); // a subshell's cd does not leak
        Assert.True(_host.IsConnected);
        Assert.Equal("local", _host.Transport);
        Assert.Equal(0, _host.Handshakes);
        Assert.Equal(5, _host.Commands);
        Assert.Equal("C", (await _host.RunAsync("echo $LC_ALL", default)).Stdout.Trim());
        Assert.Contains("/usr/sbin", (await _host.RunAsync("echo $PATH", default)).Stdout);
    }

    [Fact]
    public async Task AHoldKeepsTheHostLockUntilItIsDisposed()
    {
        if (!IsRoot) return; // the host lock's folder is root's
        // Another session of the same machine, waiting 2 s for the lock (half its command timeout).
        await using var other = new LocalHost(Entry("other"), new SshOptions { CommandTimeout = TimeSpan.FromSeconds(4), MaxOutputBytes = 1 << 20 });
        await using (await HostLock.HoldAsync(_host, TimeSpan.FromSeconds(60), default))
        {
            var script = await Assert.ThrowsAsync<VfException>(() => HostLock.RunAsync(other, "echo changed", default));
            Assert.Equal("HostLocked", script.ErrorId);
            var hold = await Assert.ThrowsAsync<VfException>(() => HostLock.HoldAsync(other, TimeSpan.FromSeconds(10), default));
            Assert.Equal("HostLocked", hold.ErrorId);
        }
        Assert.Equal("changed\n", (await HostLock.RunAsync(other, "echo changed", default)).Stdout);
    }

    [Fact]
    public async Task FeedsStdinBytesAndKeepsHostileValuesData()
    {
        var hostile = "a;touch " + Path.Combine(_dir, "canary") + " $(id) `id` 'q\" \n-x\n";
        var echoed = await _host.RunAsync("cat", default, Encoding.UTF8.GetBytes(hostile));
        Assert.Equal(hostile, echoed.Stdout);
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var sum = await _host.RunAsync("od -An -tx1 | tr -d ' \\n'", default, binary);
        Assert.Equal(Convert.ToHexString(binary).ToLowerInvariant(), sum.Stdout);
        var quoted = await _host.RunAsync("printf '%s' " + ShellQuote.Quote(hostile), default);
        Assert.Equal(hostile, quoted.Stdout);
        // Without stdin a command reads end of file at once, never the session's own input.
        Assert.Equal("", (await _host.RunAsync("cat", default)).Stdout);
        Assert.False(File.Exists(Path.Combine(_dir, "canary")));
    }

    [Fact]
    public async Task ATimeoutEndsTheCommandAndTheNextCommandGetsANewShell()
    {
        var tag = "vf-local-timeout-" + Guid.NewGuid().ToString("N")[..8];
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VfException>(() =>
            _host.RunAsync($"sh -c 'sleep 60; :' {tag}", default, timeout: TimeSpan.FromSeconds(1)));
        Assert.Equal("CommandTimeout", e.ErrorId);
        Assert.Equal(FailureKind.OperationTimeout, e.Kind);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), sw.Elapsed.ToString());
        Assert.False(_host.IsConnected);
        // The stalled command was killed with its shell, not left behind.
        await Task.Delay(300);
        var left = Process.GetProcesses().Count(p => { try { return File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(tag); } catch (Exception) { return false; } });
        Assert.Equal(0, left);
        Assert.Equal("again\n", (await _host.RunAsync("echo again", default)).Stdout);
    }

    [Fact]
    public async Task CancellationAndOversizedOutputDropTheSessionCleanly()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _host.RunAsync("sleep 30", cts.Token));
        var big = await Assert.ThrowsAsync<VfException>(() => _host.RunAsync("head -c 3000000 /dev/zero", default));
        Assert.Equal("CommandOutputTooLarge", big.ErrorId);
        Assert.Equal("ok\n", (await _host.RunAsync("echo ok", default)).Stdout);
        // A shell that died under the session (killed from outside) is a ConnectionLost error, and the next command works.
        var lost = await Assert.ThrowsAsync<VfException>(() => _host.RunAsync("kill -9 $$; sleep 5", default));
        Assert.Equal("ConnectionLost", lost.ErrorId);
        Assert.Contains("local shell ended", lost.Message);
        Assert.Equal("ok\n", (await _host.RunAsync("echo ok", default)).Stdout);
    }

    [Fact]
    public async Task UploadAndDownloadCopyFilesInPlaceThroughATemporaryName()
    {
        if (!IsRoot) return; // a non-root user copies through sudo -n, which this machine may not grant
        var src = Path.Combine(_dir, "src.bin");
        var data = new byte[700_000];
        Random.Shared.NextBytes(data);
        await File.WriteAllBytesAsync(src, data);
        var dst = Path.Combine(_dir, "store", "dst.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
        long reported = 0;
        await _host.UploadAsync(src, dst, new SyncProgress(n => reported = n), default);
        Assert.Equal(data, await File.ReadAllBytesAsync(dst));
        Assert.Equal(data.Length, reported);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dst));
        Assert.False(File.Exists(dst + ".vf-partial"));

        var back = Path.Combine(_dir, "back.bin");
        await _host.DownloadAsync(dst, back, null, default);
        Assert.Equal(data, await File.ReadAllBytesAsync(back));

        var missing = await Assert.ThrowsAsync<VfException>(() => _host.UploadAsync(src, Path.Combine(_dir, "no-such-dir", "x"), null, default));
        Assert.Equal("UploadFailed", missing.ErrorId);
        var absent = await Assert.ThrowsAsync<VfException>(() => _host.DownloadAsync(Path.Combine(_dir, "absent"), back, null, default));
        Assert.Equal("DownloadFailed", absent.ErrorId);
    }

    [Fact]
    public async Task AConsolePortIsReachedDirectly()
    {
        using var forward = await _host.ForwardLocalAsync("127.0.0.1", 5901, default);
        Assert.Equal(("127.0.0.1", 5901), (forward.LocalAddress, forward.LocalPort));
    }

    [Fact]
    public async Task ThePoolGivesALocalEntryTheLocalTransportUnderItsName()
    {
        await using var pool = new ConnectionPool();
        var options = new SshOptions();
        var local = pool.Get(Entry("hv0"), options);
        Assert.IsType<LocalHost>(local);
        Assert.Same(local, pool.Get(Entry("hv0"), options));
        Assert.NotSame(local, pool.Get(Entry("other"), options));
        var ssh = pool.Get(new HostEntry { Name = "hv1", Address = "198.51.100.11" }, options);
        Assert.IsType<SshHost>(ssh);
        Assert.Equal("ssh", ssh.Transport);
        await pool.CloseAsync([Entry("hv0")]);
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void ALocalEntryTakesNoAddressKeyOrSudoAndIsNamedAfterTheMachine()
    {
        Entry().Validate();
        foreach (var bad in new[]
                 {
                     new HostEntry { Name = "hv0", Local = true, Address = "198.51.100.11" },
                     new HostEntry { Name = "hv0", Local = true, KeyFile = "/root/.ssh/id_ed25519" },
                     new HostEntry { Name = "hv0", Local = true, Sudo = true },
                 })
            Assert.Equal("LocalHostWithAddress", Assert.Throws<VfException>(bad.Validate).ErrorId);
        Assert.Equal("InvalidHostName", Assert.Throws<VfException>(new HostEntry { Name = "a;b", Local = true }.Validate).ErrorId);
        Assert.Equal("hv7", HostEntry.LocalName("hv7.example.org"));
        Assert.Null(HostEntry.LocalName("-bad"));
        Assert.Equal("/opt/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LocalHost.SearchPath("/opt/x"));
        Assert.Equal("/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin", LocalHost.SearchPath("/usr/bin:/bin"));
    }

    [Fact]
    public void AddVfHostLocalRecordsThisMachineAndTheListingsShowIt()
    {
        using var ps = new PowerShellHost();
        var inv = Path.Combine(_dir, "inventory.yaml");
        var v = new Dictionary<string, object?> { ["inv"] = inv };
        var added = (HostEntry)ps.Ok("Add-VfHost -Local -Tag self -Inventory $inv", v).Single().BaseObject;
        Assert.True(added.Local);
        Assert.Equal(HostEntry.LocalName(Environment.MachineName), added.Name);
        var yaml = File.ReadAllText(inv);
        Assert.Contains("local: true", yaml);
        var listed = (HostEntry)ps.Ok("Get-VfHost -Inventory $inv", v).Single().BaseObject;
        Assert.True(listed.Local);
        // One machine is one host: a second local entry under another name is refused.
        var again = ps.Run("Add-VfHost -Local -Name other -Inventory $inv", v);
        Assert.Equal("LocalHostExists", again.Errors.Single().FullyQualifiedErrorId.Split(',')[0]);
        // A local host has no SSH parameters.
        var ssh = ps.Run("Add-VfHost -Local -Address 198.51.100.9 -Inventory $inv", v);
        Assert.Contains("AmbiguousParameterSet", ssh.Errors.Single().FullyQualifiedErrorId);
        v["other"] = Path.Combine(_dir, "other.yaml");
        var named = (HostEntry)ps.Ok("Add-VfHost -Local -Name hv0 -Inventory $other | Out-Null; Get-VfHost hv0 -Inventory $other", v).Single().BaseObject;
        Assert.Equal(("hv0", true, ""), (named.Name, named.Local, named.Address));
        // -LibvirtPath is recorded for a local host as for an SSH one, and its connection takes that path.
        v["third"] = Path.Combine(_dir, "third.yaml");
        var virsh = (HostEntry)ps.Ok("Add-VfHost -Local -Name hv1 -LibvirtPath Virsh -Inventory $third", v).Single().BaseObject;
        Assert.Equal("virsh", virsh.Libvirt);
        Assert.Contains("libvirt: virsh", File.ReadAllText((string)v["third"]!));
    }

    [Fact]
    public async Task ALocalHostAskedForVirshStaysOnVirshAndSaysWhy()
    {
        await using var host = new LocalHost(new HostEntry { Name = "self", Address = "", User = "", Local = true, Libvirt = "virsh" }, new SshOptions());
        Assert.Equal(LibvirtPath.Virsh, host.LibvirtPath);
        Assert.Equal("virsh asked for", host.LibvirtNote);
        Assert.Equal("local", host.Transport);
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
