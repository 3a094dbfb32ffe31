using System.Diagnostics;
using System.Text;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// The host lock's prelude run by a real shell: each script in a private mount namespace whose /run/virtfleet is
/// a temporary folder of the test (shared by the scripts of one test, so they contend for the same lock, and
/// never the machine's). Needs root (unshare, mount, setpriv); skipped otherwise.
/// </summary>
public sealed class HostLockTests : IDisposable
{
    private readonly LockHost _host = new();

    public void Dispose() => _host.Dispose();

    [RootFact]
    public async Task AnExclusiveScriptSaysTheHostChangedAndASharedOneDoesNot()
    {
        await HostLock.RunAsync(_host, "true", default, shared: true);
        Assert.Equal(0, _host.LibvirtChanges);
        await HostLock.RunAsync(_host, "true", default);
        Assert.Equal(1, _host.LibvirtChanges);
        // Also when the script fails: what it did before failing may have changed the host.
        await HostLock.RunAsync(_host, "exit 5", default);
        Assert.Equal(2, _host.LibvirtChanges);
    }

    [RootFact]
    public async Task ALockedScriptGetsItsStandardInputArgumentsAndExitCode()
    {
        var r = await HostLock.RunAsync(_host, "set -- a 'b c'\nread x; printf '%s|%s|%s\\n' \"$1\" \"$2\" \"$x\"\nexit 3", default,
            Encoding.UTF8.GetBytes("from stdin\n"));
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("a|b c|from stdin\n", r.Stdout);
        Assert.Equal("0:700", _host.Sh("stat -c %u:%a " + _host.Dir).Trim());
        // A body that runs to its end: the here-document ends where it should, nothing of the wrapper runs in it.
        var end = await HostLock.RunAsync(_host, "echo end", default);
        Assert.Equal((0, "end\n", ""), (end.ExitCode, end.Stdout, end.Stderr));
    }

    [RootFact]
    public async Task AScriptLargerThanOneShellArgumentRunsUnderTheLock()
    {
        // A create of many instances carries seeds and domain XML: more than the 128 KiB Linux allows one argument.
        var big = string.Join('\n', Enumerable.Range(0, 4000).Select(i => $"v{i % 10}='{new string('x', 60)}'")) + "\necho done";
        Assert.True(big.Length > 200_000);
        var r = await HostLock.RunAsync(_host, big, default);
        Assert.Equal("done\n", r.Stdout);
    }

    [RootFact]
    public async Task AChangeWhileAnotherRunHoldsTheLockIsHostLockedNotRunUnserialized()
    {
        using var holder = _host.Hold(20);
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VfException>(() =>
            HostLock.RunAsync(_host, "touch /run/virtfleet/changed", default, bound: TimeSpan.FromSeconds(4)));
        Assert.Equal("HostLocked", e.ErrorId);
        Assert.Equal(FailureKind.ResourceUnavailable, e.Kind);
        Assert.InRange(sw.Elapsed.TotalSeconds, 1.5, 10);
        Assert.False(File.Exists(Path.Combine(_host.Dir, "changed")));
    }

    [RootFact]
    public async Task AScriptPastItsBoundIsStoppedOnTheHostAndTheLockIsFree()
    {
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VfException>(() =>
            HostLock.RunAsync(_host, "sleep 60; touch /run/virtfleet/late", default, bound: TimeSpan.FromSeconds(3)));
        Assert.Equal("HostScriptOverran", e.ErrorId);
        Assert.Equal(FailureKind.OperationTimeout, e.Kind);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), sw.Elapsed.ToString());
        Assert.Equal("free", _host.Sh($"flock -n {_host.Dir}/host.lock echo free").Trim());
    }

    [RootFact]
    public void AClientThatGaveUpDoesNotLeaveTheLockHeldPastTheBound()
    {
        // The client side dies (a dropped SSH session): only the host-side bound ends the script.
        var script = HostLock.Wrap("sleep 120", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        var client = _host.Start(script);
        Thread.Sleep(1500);
        Assert.Equal(1, _host.Run($"flock -n {_host.Dir}/host.lock true").Code); // held while it runs
        client.Kill(entireProcessTree: false);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(12);
        while (_host.Run($"flock -n {_host.Dir}/host.lock true").Code != 0)
        {
            Assert.True(DateTime.UtcNow < until, "the lock is still held after the script's bound");
            Thread.Sleep(250);
        }
    }

    [RootFact]
    public async Task ANonRootUserCanNeitherCreateNorHoldTheLock()
    {
        await HostLock.RunAsync(_host, "true", default);
        var (code, output) = _host.Run("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 9>>/run/virtfleet/host.lock && flock -n 9 && echo HELD'");
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("HELD", output);
        // And VirtFleet run as a non-root user says so instead of running unlocked.
        var r = _host.Run("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c " + ShellQuote.Quote(HostLock.Wrap("echo ran", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5))));
        Assert.Equal(HostLock.NotRootExit, r.Code);
        Assert.DoesNotContain("ran", r.Output);
    }

    [Fact]
    public void ABodyCannotEndTheWrapperEarly() =>
        Assert.Throws<ArgumentException>(() => HostLock.Wrap("echo a\n@@VF-LOCKED-BODY@@\nrm -rf /x", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));

    [Fact]
    public void TheLockWaitIsHalfTheCommandTimeoutAtMostFiveMinutes()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), HostLock.WaitFor(TimeSpan.FromSeconds(20)));
        Assert.Equal(HostLock.MaxWait, HostLock.WaitFor(TimeSpan.FromHours(1)));
        var script = HostLock.Wrap("true", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));
        Assert.StartsWith("vf_lockdir=/run/virtfleet vf_mode=-x vf_wait=10 vf_bound=20\n", script);
        Assert.Contains("flock \"$vf_mode\" -w \"$vf_wait\" 9", script);
        Assert.Contains("exec 9>>\"$vf_lockdir/host.lock\"", script);
        Assert.DoesNotContain("/run/lock", script);
        // The body's end: one line, with a random part (a body cannot end the here-document early by chance or design).
        var end = Assert.Single(script.Split('\n'), l => l.StartsWith("@@VF-LOCKED-BODY"));
        Assert.Matches("^@@VF-LOCKED-BODY-[0-9a-f]{16}@@$", end);
        Assert.Contains("\ntrue\n" + end + "\n", script);
        Assert.DoesNotContain("@@VF-BODY@@", script);
    }

    /// <summary>Runs scripts as a host would (a subshell of a shell, stdin piped), /run/virtfleet a private folder.</summary>
    private sealed class LockHost : IRemoteHost, IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("vflocktest-").FullName;
        public HostEntry Host { get; } = new() { Name = "lockhost", Address = "127.0.0.1" };
        /// <summary>How often a run told the host its libvirt changed (what the native path keeps is then forgotten).</summary>
        public int LibvirtChanges { get; private set; }
        public void LibvirtChanged() => LibvirtChanges++;

        private const string Wrapper = """
            mkdir -p /run/virtfleet && mount --bind "$1" /run/virtfleet || exit 90
            ( eval "$(cat "$2")" )
            """;

        private int _scripts;

        // The script from a file (like SshHost's, through the shell's input rather than an argument of limited size).
        private ProcessStartInfo Psi(string script)
        {
            var file = Path.Combine(Path.GetTempPath(), $"vflocktest-{Environment.ProcessId}-{Interlocked.Increment(ref _scripts)}.sh");
            File.WriteAllText(file, script);
            return new("unshare", ["--mount", "--propagation", "private", "sh", "-c", Wrapper, "sh", Dir, file])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
        }

        public Process Start(string script)
        {
            var p = Process.Start(Psi(script))!;
            p.StandardInput.Close();
            return p;
        }

        public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
        {
            using var p = Process.Start(Psi(script))!;
            var stdout = p.StandardOutput.ReadToEndAsync(ct);
            var stderr = p.StandardError.ReadToEndAsync(ct);
            if (stdin is not null) await p.StandardInput.BaseStream.WriteAsync(stdin, ct);
            p.StandardInput.Close();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(1));
            try { await p.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw; }
            return new CommandResult(p.ExitCode, await stdout, await stderr);
        }

        public (int Code, string Output) Run(string script)
        {
            var r = RunAsync(script, default).GetAwaiter().GetResult();
            return (r.ExitCode, r.Stdout + r.Stderr);
        }

        public string Sh(string script)
        {
            var (code, output) = Run(script);
            Assert.True(code == 0, $"{script}: exit {code}: {output}");
            return output;
        }

        /// <summary>Another run holding the lock for <paramref name="seconds"/>.</summary>
        public IDisposable Hold(int seconds)
        {
            var p = Start($"exec flock /run/virtfleet/host.lock sleep {seconds}");
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (Run($"flock -n {Dir}/host.lock true").Code == 0 && DateTime.UtcNow < until) Thread.Sleep(50);
            return new Killer(p);
        }

        private sealed class Killer(Process p) : IDisposable
        {
            public void Dispose() { try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } p.Dispose(); }
        }

        public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) =>
            throw new NotSupportedException();

        public void Dispose()
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), $"vflocktest-{Environment.ProcessId}-*.sh")) File.Delete(f);
        }
    }
}

/// <summary>A fact skipped, with the reason, when the tests do not run as root.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess) Skip = "needs root (mount namespaces, setpriv)";
    }
}
