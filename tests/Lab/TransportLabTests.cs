using System.Management.Automation;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>The SSH transport against real sshd: host keys, injection, pooling, misbehaving hosts.</summary>
[Collection("lab8")]
public class TransportLabTests(EightHostLab lab)
{
    private string Inventory(string knownHosts, string name = "inv")
    {
        var dir = Directory.CreateTempSubdirectory("vf-lab-").FullName;
        var path = Path.Combine(dir, name + ".yml");
        var hosts = string.Join("", lab.Status.Hosts.Select(h =>
            $"  - name: {h.Name}\n    address: {h.Address}\n    keyFile: {lab.Status.KeyFile}\n"));
        File.WriteAllText(path, $"knownHosts: {knownHosts}\nhosts:\n{hosts}");
        return path;
    }

    [Fact]
    public void UnknownHostKeyIsRefusedBeforeAuthenticationWithItsFingerprint()
    {
        var empty = Path.GetTempFileName();
        var inv = Inventory(empty);
        var r = lab.Shell.Run($"Test-VfHost -Inventory '{inv}' -Host vfh1");
        var e = Assert.Single(r.Errors);
        Assert.Equal("HostKeyUnknown,VirtFleet.Cmdlets.Commands.TestVfHostCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category);
        Assert.Matches("SHA256:[A-Za-z0-9+/]{43}", e.Exception.Message);
        Assert.Empty(r.Output);
        // Refused before authentication: sshd never logged an accepted key for that attempt.
        Assert.Equal(0, new FileInfo(empty).Length);
    }

    [Fact]
    public void ChangedHostKeyIsRefusedShowingBothFingerprints()
    {
        // Record vfh2's key under vfh1's address: vfh1 now presents a "changed" key.
        var real = File.ReadAllLines(lab.Status.KnownHosts);
        var vfh2Key = real.First(l => l.StartsWith("198.51.100.12 ")).Split(' ', 2)[1];
        var forged = Path.GetTempFileName();
        File.WriteAllText(forged, $"198.51.100.11 {vfh2Key}\n");
        var r = lab.Shell.Run($"Test-VfHost -Inventory '{Inventory(forged)}' -Host vfh1 -AcceptNewHostKey");
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("HostKeyChanged,", e.FullyQualifiedErrorId);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(e.Exception.Message, "SHA256:[A-Za-z0-9+/]{43}").Count);
    }

    [Fact]
    public void AcceptNewHostKeyRecordsTheKeyAndTheNextConnectionIsStrict()
    {
        var kh = Path.GetTempFileName();
        var inv = Inventory(kh);
        var first = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{inv}' -Host vfh3 -AcceptNewHostKey");
        Assert.Empty(first.Errors);
        Assert.Contains("|1|", File.ReadAllText(kh));
        var second = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{inv}' -Host vfh3");
        Assert.Empty(second.Errors);
        Assert.Single(second.Output);
    }

    [Fact]
    public void AddVfHostAcceptNewHostKeyRecordsTheKeySoTestVfHostNeedsNoSwitch()
    {
        // An inventory of its own with an empty known_hosts: the lab's keys are unknown to it.
        string EmptyInventory(out string knownHosts)
        {
            knownHosts = Path.GetTempFileName();
            var path = Path.Combine(Directory.CreateTempSubdirectory("vf-lab-").FullName, "inv.yml");
            File.WriteAllText(path, $"knownHosts: {knownHosts}\n");
            return path;
        }
        var vfh4 = lab.Status.Hosts.Single(h => h.Name == "vfh4");
        var inv = EmptyInventory(out var kh);
        var added = lab.Shell.Run($"Disconnect-VfHost; Add-VfHost vfh4 {vfh4.Address} -KeyFile '{lab.Status.KeyFile}' -Inventory '{inv}' -AcceptNewHostKey");
        Assert.Empty(added.Errors);
        Assert.Equal("vfh4", ((HostEntry)Assert.Single(added.Output).BaseObject).Name);
        Assert.Contains("|1|", File.ReadAllText(kh));
        var strict = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{inv}' -Host vfh4");
        Assert.Empty(strict.Errors);
        Assert.Single(strict.Output);

        // Without the switch the host is recorded as before and nothing is connected: the next Test-VfHost refuses the unknown key.
        var inv2 = EmptyInventory(out var kh2);
        var plain = lab.Shell.Run($"Disconnect-VfHost; Add-VfHost vfh4 {vfh4.Address} -KeyFile '{lab.Status.KeyFile}' -Inventory '{inv2}'");
        Assert.Empty(plain.Errors);
        Assert.Equal(0, new FileInfo(kh2).Length);
        var refused = lab.Shell.Run($"Test-VfHost -Inventory '{inv2}' -Host vfh4");
        Assert.Equal("HostKeyUnknown,VirtFleet.Cmdlets.Commands.TestVfHostCommand", Assert.Single(refused.Errors).FullyQualifiedErrorId);
        Assert.Equal(0, new FileInfo(kh2).Length);
    }

    [Fact]
    public void AddVfHostAcceptNewHostKeyStillRefusesAChangedKeyAndAddsNothing()
    {
        // vfh2's key recorded under vfh1's address: vfh1 presents a "changed" key.
        var vfh2Key = File.ReadAllLines(lab.Status.KnownHosts).First(l => l.StartsWith("198.51.100.12 ")).Split(' ', 2)[1];
        var forged = Path.GetTempFileName();
        File.WriteAllText(forged, $"198.51.100.11 {vfh2Key}\n");
        var inv = Path.Combine(Directory.CreateTempSubdirectory("vf-lab-").FullName, "inv.yml");
        File.WriteAllText(inv, $"knownHosts: {forged}\n");
        var r = lab.Shell.Run($"Disconnect-VfHost; Add-VfHost vfh1 198.51.100.11 -KeyFile '{lab.Status.KeyFile}' -Inventory '{inv}' -AcceptNewHostKey");
        Assert.StartsWith("HostKeyChanged,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(r.Output);
        Assert.Empty(lab.Shell.Ok($"Get-VfHost -Inventory '{inv}'"));
    }

    [Fact]
    public void CompletionReadsFleetNamesOverOpenConnectionsOnlyAndQuickly()
    {
        lab.Shell.Ok("New-VfSecurityGroup cmp-web -Confirm:$false | Out-Null");
        try
        {
            // A new session: it has seen no group. Before any connection, completion offers nothing (and connects to nothing).
            using var fresh = new PowerShellHost();
            var v = new Dictionary<string, object?> { ["s"] = "New-VfInstance -Image vflinux -SecurityGroup cmp-" };
            const string complete = "(TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches | ForEach-Object CompletionText";
            Assert.Empty(fresh.Ok(complete, v));
            Assert.Empty(fresh.Ok("Get-VfConnection"));
            // Once the session holds connections (any command), completion reads the groups over them, within its budget.
            fresh.Ok($"Test-VfHost -Inventory '{lab.Status.Inventory}' | Out-Null");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(["cmp-web"], fresh.Ok(complete, v).Select(o => o.ToString()));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"completion took {clock.Elapsed}");
        }
        finally
        {
            lab.Shell.Run("Remove-VfSecurityGroup cmp-web -Confirm:$false");
        }
    }

    [Theory]
    [InlineData("a;touch /tmp/vf-canary")]
    [InlineData("$(touch /tmp/vf-canary)")]
    [InlineData("'")]
    [InlineData("a\ntouch /tmp/vf-canary")]
    [InlineData("-oProxyCommand=touch /tmp/vf-canary")]
    public void HostileHostNamesAreRejectedAndNoCanaryAppears(string name)
    {
        var r = lab.Shell.Run("Add-VfHost -Name $n -Address $n -Inventory ([IO.Path]::Combine([IO.Path]::GetTempPath(), 'vf-hostile.yml'))",
            new Dictionary<string, object?> { ["n"] = name });
        Assert.NotEmpty(r.Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, r.Errors[0].CategoryInfo.Category);
        foreach (var h in lab.Status.Hosts) Assert.Equal(1, lab.InHost(h.Name, "test -e /tmp/vf-canary").Code);
        Assert.False(File.Exists("/tmp/vf-canary"));
    }

    [Fact]
    public void SecondCallInTheSessionReusesConnections()
    {
        lab.Shell.Ok("Disconnect-VfHost");
        lab.Shell.Ok("Test-VfHost");
        lab.Shell.Ok("Test-VfHost");
        lab.Shell.Ok("Get-VfHost -Detailed");
        var conns = lab.Shell.Ok("Get-VfConnection").Select(o => o.Properties).ToList();
        Assert.Equal(8, conns.Count);
        Assert.All(conns, c =>
        {
            Assert.Equal(1, (int)c["Handshakes"].Value);
            Assert.Equal(3L, (long)c["Commands"].Value);
        });
    }

    [Fact]
    public void BlackholedAndStoppedHostsGiveOneErrorEachAndTheRunEnds()
    {
        var h7 = lab.Status.Hosts.Single(h => h.Name == "vfh7");
        var h8 = lab.Status.Hosts.Single(h => h.Name == "vfh8");
        try
        {
            lab.Shell.Ok("Disconnect-VfHost");
            Assert.Equal(0, lab.InHost("vfh7", "iptables -I INPUT -p tcp --dport 22 -j DROP").Code);
            Assert.Equal(0, lab.InHost("vfh8", "kill -STOP $(cat /run/sshd.pid 2>/dev/null || pgrep -x sshd)").Code);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var r = lab.Shell.Run("Test-VfHost -ConnectTimeout 3");
            sw.Stop();
            Assert.Equal(6, r.Output.Count);
            Assert.Equal(2, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category));
            Assert.Equal(["vfh7", "vfh8"], r.Errors.Select(e => (string)e.TargetObject).Order());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        }
        finally
        {
            lab.InHost("vfh7", "iptables -D INPUT -p tcp --dport 22 -j DROP");
            lab.InHost("vfh8", "kill -CONT $(cat /run/sshd.pid 2>/dev/null || pgrep -x sshd)");
        }
    }

    [Fact]
    public void StoppedSshdIsAConnectionError()
    {
        try
        {
            lab.Shell.Ok("Disconnect-VfHost");
            lab.InHost("vfh6", "kill $(cat /run/sshd.pid 2>/dev/null || pgrep -x sshd)");
            var r = lab.Shell.Run("Test-VfHost -Host vfh6 -ConnectTimeout 3");
            var e = Assert.Single(r.Errors);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
            Assert.StartsWith("ConnectionRefused,", e.FullyQualifiedErrorId);
        }
        finally
        {
            // Start-VfLab is idempotent and repairs the host's sshd.
            lab.Shell.Ok("Start-VfLab -HostCount 8 -Confirm:$false | Out-Null");
        }
    }

    [Fact]
    public async Task AHungCommandEndsAtItsDeadlineAndTheNextCommandReconnects()
    {
        var h = lab.Status.Hosts.Single(h => h.Name == "vfh5");
        var entry = new HostEntry { Name = h.Name, Address = h.Address, KeyFile = lab.Status.KeyFile };
        var options = new VirtFleet.Transport.SshOptions { KnownHostsPath = lab.Status.KnownHosts, CommandTimeout = TimeSpan.FromSeconds(2) };
        await using var host = new VirtFleet.Transport.SshHost(entry, options);
        Assert.Equal("ok", (await host.RunAsync("echo ok", CancellationToken.None)).Stdout.Trim());
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VfException>(() => host.RunAsync("sleep 60", CancellationToken.None));
        sw.Stop();
        Assert.Equal("CommandTimeout", e.ErrorId);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(8), $"took {sw.Elapsed}");
        Assert.Equal("ok", (await host.RunAsync("echo ok", CancellationToken.None)).Stdout.Trim());
        Assert.Equal(2, host.Handshakes);
    }
}
