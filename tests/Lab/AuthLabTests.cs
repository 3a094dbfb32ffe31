using System.Diagnostics;
using System.Management.Automation;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>Key types, encrypted keys with a passphrase from -Credential, and Ctrl+C during a stalled fan-out.</summary>
[Collection("lab3")]
public class AuthLabTests(ThreeHostLab lab)
{
    private string KeyDir { get; } = Directory.CreateTempSubdirectory("vf-keys-").FullName;

    private string Inventory(string keyFile)
    {
        var path = Path.Combine(KeyDir, $"inv-{Guid.NewGuid():N}.yml");
        File.WriteAllText(path, $"knownHosts: {lab.Status.KnownHosts}\nhosts:\n  - name: vfh1\n    address: 198.51.100.11\n    keyFile: {keyFile}\n");
        return path;
    }

    /// <summary>Authorizes an extra key on the lab hosts for the duration of a test.</summary>
    private sealed class Authorized : IDisposable
    {
        private readonly string _file, _line;
        public Authorized(string authorizedKeys, string pubFile)
        {
            (_file, _line) = (authorizedKeys, File.ReadAllText(pubFile).Trim());
            File.AppendAllText(_file, _line + "\n");
        }
        public void Dispose() => File.WriteAllLines(_file, File.ReadAllLines(_file).Where(l => l.Trim() != _line));
    }

    private string NewKey(string type, string passphrase = "")
    {
        var key = Path.Combine(KeyDir, $"id_{type}_{Guid.NewGuid():N}");
        var bits = type == "rsa" ? new[] { "-b", "3072" } : [];
        var p = Process.Start("ssh-keygen", ["-q", "-t", type, .. bits, "-N", passphrase, "-C", "vf-test", "-f", key])!;
        p.WaitForExit();
        return key;
    }

    private string AuthorizedKeysFile => Path.Combine(lab.Status.StateDir, "authorized_keys");

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa")]
    [InlineData("rsa")]
    public void EveryKeyTypeAuthenticates(string type)
    {
        var key = NewKey(type);
        using var _ = new Authorized(AuthorizedKeysFile, key + ".pub");
        var r = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{Inventory(key)}'");
        Assert.Empty(r.Errors);
        Assert.True(((HostFacts)r.Output.Single().BaseObject).Healthy);
    }

    [Fact]
    public void EncryptedKeyNeedsItsPassphraseFromCredential()
    {
        var key = NewKey("ed25519", "s3cret pass");
        using var _ = new Authorized(AuthorizedKeysFile, key + ".pub");
        var inv = Inventory(key);
        var without = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{inv}'");
        Assert.StartsWith("KeyPassphraseRequired", Assert.Single(without.Errors).FullyQualifiedErrorId);
        var credential = new PSCredential("root", new System.Net.NetworkCredential("", "s3cret pass").SecurePassword);
        var with = lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{inv}' -Credential $c",
            new Dictionary<string, object?> { ["c"] = credential });
        Assert.Empty(with.Errors);
        Assert.Single(with.Output);
    }

    [Fact]
    public void StopInterruptsAStalledFanOutPromptly()
    {
        var pid = lab.Status.Hosts.Single(h => h.Name == "vfh1").Pid;
        Assert.Equal(0, lab.InHost("vfh1", "iptables -I INPUT -p tcp --dport 22 -j DROP").Code);
        try
        {
            using var ps = PowerShell.Create();
            using var rs = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(
                System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2());
            rs.Open();
            ps.Runspace = rs;
            ps.AddScript($"Import-Module '{PowerShellHost.ModuleManifest}'; Test-VfHost -Inventory '{lab.Status.Inventory}' -ConnectTimeout 120");
            var run = ps.BeginInvoke();
            Thread.Sleep(1500);
            var sw = Stopwatch.StartNew();
            ps.Stop(); // what Ctrl+C does
            Assert.True(run.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)), "the pipeline did not stop");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {sw.Elapsed}");
            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        }
        finally
        {
            lab.InHost("vfh1", "iptables -D INPUT -p tcp --dport 22 -j DROP");
        }
    }
}
