using System.Diagnostics;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// The per-user connection keeper on the lab: a second process reuses the keeper's connections (no new handshake),
/// a killed keeper leaves commands working (direct, then a new keeper), Disconnect-VfHost -All ends it, VF_KEEPER=0
/// keeps it out, and the keeper refuses a host whose key is not the known one. Its own socket folder ($XDG_RUNTIME_DIR), so no other keeper is touched.
/// </summary>
[Collection("lab3")]
public sealed class KeeperLabTests(ThreeHostLab lab) : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("vfk-lab-").FullName;
    private readonly string? _oldRun = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
    private readonly string? _oldSwitch = Environment.GetEnvironmentVariable("VF_KEEPER");

    private string Socket => Path.Combine(_run, "virtfleet", "keeper.sock");

    private string Inventory(string? knownHosts = null, int count = 2)
    {
        var path = Path.Combine(_run, "inv.yml");
        var hosts = string.Join("", lab.Status.Hosts.Take(count).Select(h => $"  - name: {h.Name}\n    address: {h.Address}\n    keyFile: {lab.Status.KeyFile}\n"));
        File.WriteAllText(path, $"knownHosts: {knownHosts ?? lab.Status.KnownHosts}\nhosts:\n{hosts}");
        return path;
    }

    private void On()
    {
        Environment.SetEnvironmentVariable("XDG_RUNTIME_DIR", _run);
        Environment.SetEnvironmentVariable("VF_KEEPER", "1");
    }

    public void Dispose()
    {
        try { lab.Shell.Run("Disconnect-VfHost -All"); } catch (Exception) { }
        Environment.SetEnvironmentVariable("XDG_RUNTIME_DIR", _oldRun);
        Environment.SetEnvironmentVariable("VF_KEEPER", _oldSwitch);
        lab.Shell.Run("Disconnect-VfHost");
        try { Directory.Delete(_run, recursive: true); } catch (IOException) { }
    }

    /// <summary>A new vfsh process (its own runtime, engine and module), with this test's keeper settings.</summary>
    private (int Code, string Out, string Err) Vfsh(string command)
    {
        var (code, output, err, _) = VfshProcess(command);
        return (code, output, err);
    }

    /// <summary>The same, with the process id of the vfsh that was started.</summary>
    private (int Code, string Out, string Err, int ProcessId) VfshProcess(string command)
    {
        var psi = new ProcessStartInfo(Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh"), ["-Command", command])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "vfsh did not finish in 2 minutes");
        return (p.ExitCode, output.Result, err.Result, p.Id);
    }

    private List<(string Host, string Via, int Handshakes, long Commands)> Connections() =>
        lab.Shell.Ok("Get-VfConnection").Select(o => ((string)o.Properties["Host"].Value, (string)o.Properties["Via"].Value,
            (int)o.Properties["Handshakes"].Value, (long)o.Properties["Commands"].Value)).ToList();

    private static int KeeperPid(IEnumerable<string> verbose)
    {
        var line = verbose.SingleOrDefault(v => v.Contains("using the connection keeper"))
                   ?? throw new Xunit.Sdk.XunitException("no keeper in use: " + string.Join(" | ", verbose.Where(v => v.Contains("keeper"))));
        return int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"\(pid (\d+)\)").Groups[1].Value);
    }

    [Fact]
    public void ASecondProcessReusesTheKeepersConnections()
    {
        On();
        var inv = Inventory();
        lab.Shell.Ok("Disconnect-VfHost -All");
        var first = lab.Shell.Run($"Test-VfHost -Inventory '{inv}' -Verbose");
        Assert.Empty(first.Errors);
        Assert.Equal(2, first.Output.Count);
        var pid = KeeperPid(first.Verbose);
        Assert.True(File.Exists(Socket));
        var before = Connections();
        Assert.Equal(["keeper", "keeper"], before.Select(c => c.Via));
        Assert.All(before, c => Assert.Equal(1, c.Handshakes));

        // Another process: same keeper, its connections, no new handshake.
        var (code, output, err) = Vfsh($"Test-VfHost -Inventory '{inv}' -Verbose 4>&1 | Out-String -Width 200");
        Assert.True(code == 0, err);
        Assert.Contains($"(pid {pid})", output);
        Assert.Contains("vfh2", output);
        var after = Connections();
        Assert.All(after, c => Assert.Equal(1, c.Handshakes));
        Assert.All(after, c => Assert.True(c.Commands > before.Single(b => b.Host == c.Host).Commands, c.Host));

        // That vfsh started the warm shell: a later one hands its command over, which runs through the same keeper.
        var shell = 0;
        for (var attempt = 0; attempt < 50 && shell == 0; attempt++)
        {
            var served = VfshProcess($"\"pid=$PID\"; Test-VfHost -Inventory '{inv}' -Verbose 4>&1 | Out-String -Width 200");
            Assert.True(served.Code == 0, served.Err);
            Assert.Contains($"(pid {pid})", served.Out);
            var shellPid = int.Parse(System.Text.RegularExpressions.Regex.Match(served.Out, @"pid=(\d+)").Groups[1].Value);
            if (shellPid != served.ProcessId) shell = shellPid;
            else Thread.Sleep(200);
        }
        Assert.True(shell != 0, "no command was handed to the warm shell");

        // Disconnect-VfHost -All ends it: the process goes, the socket with it, and the warm shell after it.
        lab.Shell.Ok("Disconnect-VfHost -All");
        Assert.True(WaitGone(pid), "the keeper process did not end");
        Assert.True(WaitGone(shell), "the warm shell did not end with the keeper");
        Assert.False(File.Exists(Socket));
        Assert.DoesNotContain(Connections(), c => c.Via == "keeper");
    }

    [Fact]
    public void AKilledKeeperLeavesCommandsWorking()
    {
        On();
        var inv = Inventory();
        lab.Shell.Ok("Disconnect-VfHost -All");
        var pid = KeeperPid(lab.Shell.Run($"Test-VfHost -Inventory '{inv}' -Verbose").Verbose);
        Process.GetProcessById(pid).Kill();
        Assert.True(WaitGone(pid));
        Assert.True(File.Exists(Socket));   // stale: nobody listens

        // This session still believes in it: the request finds nobody, and goes over a direct connection.
        var direct = lab.Shell.Run($"Test-VfHost -Inventory '{inv}'");
        Assert.Empty(direct.Errors);
        Assert.Equal(2, direct.Output.Count);
        Assert.Contains(Connections(), c => c.Via == "session");

        // A new process starts a new keeper over the stale socket.
        var (code, output, err) = Vfsh($"Test-VfHost -Inventory '{inv}' -Verbose 4>&1 | Out-String -Width 200");
        Assert.True(code == 0, err);
        var again = System.Text.RegularExpressions.Regex.Match(output, @"using the connection keeper at \S+ \(pid (\d+)\)");
        Assert.True(again.Success, output);
        Assert.NotEqual(pid, int.Parse(again.Groups[1].Value));
    }

    [Fact]
    public void TurnedOffItIsNeitherStartedNorUsed()
    {
        On();
        lab.Shell.Ok("Disconnect-VfHost -All");
        Environment.SetEnvironmentVariable("VF_KEEPER", "0");
        var r = lab.Shell.Run($"Test-VfHost -Inventory '{Inventory()}' -Verbose");
        Assert.Empty(r.Errors);
        Assert.Contains(r.Verbose, v => v.Contains("not used: turned off"));
        Assert.False(File.Exists(Socket));
    }

    [Fact]
    public void TheKeeperStillVerifiesHostKeys()
    {
        On();
        lab.Shell.Ok("Disconnect-VfHost -All");
        // vfh1 listed in a known_hosts file under a key it does not have: the keeper's connection must refuse it.
        var key = Path.Combine(_run, "other_key");
        using (var gen = Process.Start(new ProcessStartInfo("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]) { RedirectStandardOutput = true })!)
            Assert.True(gen.WaitForExit(30_000));
        var known = Path.Combine(_run, "known_hosts");
        var pub = File.ReadAllText(key + ".pub").Split(' ');
        File.WriteAllText(known, $"{lab.Status.Hosts[0].Address} {pub[0]} {pub[1]}\n");
        var before = File.ReadAllText(known);
        var r = lab.Shell.Run($"Test-VfHost -Inventory '{Inventory(known, count: 1)}' -Verbose");
        KeeperPid(r.Verbose);   // through the keeper
        var error = Assert.Single(r.Errors);
        Assert.Matches("HostKey(Changed|Unknown)", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.SecurityError, error.CategoryInfo.Category);
        Assert.Equal(before, File.ReadAllText(known));   // nothing recorded
        Assert.DoesNotContain(lab.Shell.Ok("Get-VfConnection"), o => (bool)o.Properties["Connected"].Value);
    }

    /// <summary>
    /// Until the process is gone or a zombie (the keeper's parent may be this test process, which reaps when it likes) whose
    /// other threads have ended too: a killed process's leader shows Z while its threads still exit, and its files (the
    /// listening socket) close only with the last of them, so a connect in between still reaches it and is reset.
    /// </summary>
    private static bool WaitGone(int pid)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') && Directory.GetDirectories($"/proc/{pid}/task").Length <= 1) return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return true; }
            Thread.Sleep(100);
        }
        return false;
    }
}
