using System.Diagnostics;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// vfsh's warm shell: a one-shot vfsh hands its command to the user's warm shell (vfsh --serve) started by an earlier
/// one, as cron or a probe would run it: real vfsh processes, each test with a keeper folder of its own.
/// </summary>
public sealed class WarmShellTests : IDisposable
{
    private static string Vfsh => Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh");
    private readonly string _run = Directory.CreateTempSubdirectory("vf-warm-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("vf-warm-cwd-").FullName;
    private readonly HashSet<int> _shells = [];

    public WarmShellTests() => File.SetUnixFileMode(_run, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    private string Folder => Path.Combine(_run, "virtfleet");
    private string[] Sockets => Directory.Exists(Folder) ? Directory.GetFiles(Folder, "vfsh-*.sock") : [];

    private sealed record Result(int Code, string Out, string Err, int ProcessId)
    {
        public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        /// <summary>The $PID the command printed first: its own process's, or the warm shell's.</summary>
        public int Pid => int.Parse(Lines[0]);
    }

    private Process Start(string[] args, Dictionary<string, string?>? env = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(Vfsh) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = _work };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["XDG_RUNTIME_DIR"] = _run;
        psi.Environment["VIRTFLEET_INVENTORY"] = Path.Combine(_work, "inventory.yml");
        psi.Environment.Remove("VF_KEEPER");
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        return p;
    }

    private Result Finish(Process p)
    {
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000), "vfsh did not exit");
            var r = new Result(p.ExitCode, stdout.Result, stderr.Result, p.Id);
            if (r.Lines.Length > 0 && int.TryParse(r.Lines[0], out var pid) && pid != p.Id) _shells.Add(pid);
            return r;
        }
    }

    private Result Run(string command, Dictionary<string, string?>? env = null) => Finish(Start(["-Command", command], env));

    /// <summary>The first command runs in its own process and starts the shell; returns once the shell answers.</summary>
    private int Warm(Dictionary<string, string?>? env = null)
    {
        var first = Run("$PID", env);
        Assert.Equal(first.ProcessId, first.Pid);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Sockets.Length == 0 && DateTime.UtcNow < until) Thread.Sleep(100);
        Assert.Single(Sockets);
        var served = Run("$PID", env);
        Assert.NotEqual(served.ProcessId, served.Pid);
        return served.Pid;
    }

    private static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    [Fact]
    public void ACommandRunsInTheWarmShellInTheCallersFolderAndEnvironmentAndLeavesNothingForTheNext()
    {
        var shell = Warm();
        var sub = Directory.CreateDirectory(Path.Combine(_work, "a folder")).FullName;
        var psi = Start(["-Command", "$PID; (Get-Location).Path; [Environment]::CurrentDirectory; $env:VF_TEST_VALUE; $global:leak = 1; Get-VfInstanceType -Name t1.micro | ForEach-Object Name"],
            new() { ["VF_TEST_VALUE"] = "one" });
        var r = Finish(psi);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal([shell.ToString(), _work, _work, "one", "t1.micro"], r.Lines);

        var next = Run("$PID; $null -eq $global:leak; $null -eq $env:VF_TEST_VALUE");
        Assert.Equal([shell.ToString(), "True", "True"], next.Lines);

        File.WriteAllText(Path.Combine(sub, "job.ps1"), "param($n) $PID; \"arg=$n\"; Write-Error 'it failed'; exit 7");
        var file = Finish(Start(["-File", Path.Combine(Path.GetFileName(sub), "job.ps1"), "x"]));
        Assert.Equal(7, file.Code);
        Assert.Equal([shell.ToString(), "arg=x"], file.Lines);
        Assert.Contains("it failed", file.Err);

        // [Console]::In/Out/Error are the caller's.
        var stdio = Finish(Start(["-Command", "$PID; [Console]::WriteLine('to stdout'); [Console]::Error.WriteLine('to stderr'); [Console]::In.ReadToEnd().Trim()"], stdin: "line 1\nline 2\n"));
        Assert.Equal([shell.ToString(), "to stdout", "line 1", "line 2"], stdio.Lines);
        Assert.Equal("to stderr", stdio.Err.Trim());

        var failed = Run("$PID; Get-VfHost -Name nosuchhost");
        Assert.Equal(1, failed.Code);
        Assert.Equal(shell, failed.Pid);
        Assert.Contains("Get-VfHost: ", failed.Err);

        var prompt = Run("$PID; Add-VfHost hv1 198.51.100.11 -Confirm");
        Assert.Equal(1, prompt.Code);
        Assert.Contains("not interactive", prompt.Err);
    }

    [Fact]
    public void ACommandMeetingABusyShellRunsInItsOwnProcess()
    {
        var shell = Warm();
        var slow = Start(["-Command", "$PID; Start-Sleep -Seconds 4"]);
        Thread.Sleep(1500);
        var meanwhile = Run("$PID");
        Assert.Equal(0, meanwhile.Code);
        Assert.Equal(meanwhile.ProcessId, meanwhile.Pid);
        var done = Finish(slow);
        Assert.Equal(shell, done.Pid);
        Assert.Equal(0, done.Code);
    }

    [Fact]
    public void CtrlCStopsTheCommandInTheShellAndTheShellServesTheNext()
    {
        var shell = Warm();
        var p = Start(["-Command", "$PID; Start-Sleep -Seconds 30; 'not stopped'"]);
        Thread.Sleep(1500);
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString()])) kill.WaitForExit();
        var r = Finish(p);
        Assert.Equal(130, r.Code);
        Assert.DoesNotContain("not stopped", r.Out);
        Assert.Equal(shell, Run("$PID").Pid);
    }

    [Fact]
    public void ACommandWithOtherSettingsMeetsAShellMadeWithThem()
    {
        var shell = Warm();
        // Another module path (the same module, named explicitly) is another shell's: this one is not used.
        var other = new Dictionary<string, string?> { ["VIRTFLEET_MODULE"] = Path.Combine(PowerShellHost.RepoRoot, "out", "VirtFleet", "VirtFleet.psd1") };
        var first = Run("$PID", other);
        Assert.Equal(first.ProcessId, first.Pid);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Sockets.Length < 2 && DateTime.UtcNow < until) Thread.Sleep(100);
        Assert.Equal(2, Sockets.Length);
        var served = Run("$PID", other);
        Assert.NotEqual(served.ProcessId, served.Pid);
        Assert.NotEqual(shell, served.Pid);
        Assert.Equal(shell, Run("$PID").Pid);
    }

    [Fact]
    public void WithTheKeeperTurnedOffNoShellIsStartedOrUsed()
    {
        var off = new Dictionary<string, string?> { ["VF_KEEPER"] = "0" };
        for (var i = 0; i < 2; i++)
        {
            var r = Run("$PID", off);
            Assert.Equal(r.ProcessId, r.Pid);
        }
        Thread.Sleep(1000);
        Assert.Empty(Sockets);
    }

    [Fact]
    public void TheShellEndsWithTheConnectionKeeperItSawAndWhenIdle()
    {
        // A stand-in for the connection keeper: the shell watches its socket and ends once it is gone
        // (Disconnect-VfHost -All ends the keeper).
        Directory.CreateDirectory(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var keeper = Path.Combine(Folder, "keeper.sock");
        using (var stand = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            stand.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(keeper));
            var shell = Warm();
            Thread.Sleep(2500);
            Assert.True(Alive(shell));
            File.Delete(keeper);
            var until = DateTime.UtcNow.AddSeconds(10);
            while (Alive(shell) && DateTime.UtcNow < until) Thread.Sleep(100);
            Assert.False(Alive(shell), "the shell outlived the keeper");
            Assert.Empty(Sockets);
        }

        var idle = new Dictionary<string, string?> { ["VF_KEEPER_IDLE"] = "5" };
        var second = Warm(idle);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Alive(second) && DateTime.UtcNow < deadline) Thread.Sleep(200);
        Assert.False(Alive(second), "the shell outlived its idle time");
    }

    public void Dispose()
    {
        foreach (var pid in _shells)
            try { using var p = Process.GetProcessById(pid); p.Kill(); p.WaitForExit(5000); }
            catch (Exception) { }
        Directory.Delete(_run, recursive: true);
        Directory.Delete(_work, recursive: true);
    }
}
