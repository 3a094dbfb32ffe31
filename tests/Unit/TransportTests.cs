using System.Security.Cryptography;
using System.Text;
using VirtFleet.Hosts;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

public class ShellQuoteTests
{
    [Theory]
    [InlineData("plain-name_1.0", "plain-name_1.0")]
    [InlineData("a;touch /tmp/x", "'a;touch /tmp/x'")]
    [InlineData("$(id)", "'$(id)'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("-rf", "-rf")]
    [InlineData("", "''")]
    [InlineData("a\nb", "'a\nb'")]
    public void QuotesEverythingThatIsNotPlain(string input, string expected) => Assert.Equal(expected, ShellQuote.Quote(input));

    [Fact]
    public void QuotedValuesSurviveARealShell()
    {
        string[] hostile = ["a;touch /tmp/vf-canary", "$(touch /tmp/vf-canary)", "`touch /tmp/vf-canary`", "'", "\"", "a\nb", "-n", "*", "\\", "a'b'c"];
        var script = "printf '%s\\0' " + string.Join(' ', hostile.Select(ShellQuote.Quote));
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", script]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(hostile, output.TrimEnd('\0').Split('\0'));
        Assert.False(File.Exists("/tmp/vf-canary"));
    }

    [Fact]
    public void NulIsRefused() => Assert.Throws<VfException>(() => ShellQuote.Quote("a\0b"));
}

public class KnownHostsTests
{
    private static readonly byte[] KeyA = KeyBlob("ssh-ed25519", 1);
    private static readonly byte[] KeyB = KeyBlob("ssh-ed25519", 2);

    private static byte[] KeyBlob(string type, byte fill)
    {
        var t = Encoding.ASCII.GetBytes(type);
        var ms = new MemoryStream();
        void Str(byte[] b) { ms.Write([(byte)(b.Length >> 24), (byte)(b.Length >> 16), (byte)(b.Length >> 8), (byte)b.Length]); ms.Write(b); }
        Str(t); Str(Enumerable.Repeat(fill, 32).ToArray());
        return ms.ToArray();
    }

    private static string Temp(params string[] lines)
    {
        var p = Path.GetTempFileName();
        File.WriteAllLines(p, lines);
        return p;
    }

    [Fact]
    public void PlainEntryTrustsItsKeyAndFlagsAChange()
    {
        var kh = KnownHosts.Load(Temp($"198.51.100.11,hv1 ssh-ed25519 {Convert.ToBase64String(KeyA)}",
            $"[198.51.100.40]:2222 ssh-ed25519 {Convert.ToBase64String(KeyB)}"));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("198.51.100.40", 2222, "ssh-ed25519", KeyB, out _));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("198.51.100.40", 22, "ssh-ed25519", KeyB, out _));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("198.51.100.11", 22, "ssh-ed25519", KeyA, out _));
        Assert.Equal(HostKeyVerdict.Changed, kh.Verify("198.51.100.11", 22, "ssh-ed25519", KeyB, out var known));
        Assert.Single(known);
        Assert.Contains(KnownHosts.Fingerprint(KeyA), known[0]);
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("198.51.100.12", 22, "ssh-ed25519", KeyA, out _));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("198.51.100.11", 2222, "ssh-ed25519", KeyA, out _));
    }

    [Fact]
    public void HashedEntriesAndPortsMatch()
    {
        var salt = RandomNumberGenerator.GetBytes(20);
        using var hmac = new HMACSHA1(salt);
        var hash = hmac.ComputeHash(Encoding.ASCII.GetBytes("[198.51.100.20]:2222"));
        var kh = KnownHosts.Load(Temp($"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)} ssh-ed25519 {Convert.ToBase64String(KeyA)}"));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("198.51.100.20", 2222, "ssh-ed25519", KeyA, out _));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("198.51.100.20", 22, "ssh-ed25519", KeyA, out _));
    }

    [Fact]
    public void WildcardsNegationAndRevocation()
    {
        var kh = KnownHosts.Load(Temp(
            "# comment",
            $"198.51.100.*,!198.51.100.66 ssh-ed25519 {Convert.ToBase64String(KeyA)}",
            $"@revoked * ssh-ed25519 {Convert.ToBase64String(KeyB)}",
            $"@cert-authority *.example ssh-ed25519 {Convert.ToBase64String(KeyB)}"));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("198.51.100.5", 22, "ssh-ed25519", KeyA, out _));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("198.51.100.66", 22, "ssh-ed25519", KeyA, out _));
        Assert.Equal(HostKeyVerdict.Revoked, kh.Verify("198.51.100.5", 22, "ssh-ed25519", KeyB, out _));
    }

    [Fact]
    public void AddedKeysAreHashedAndFoundAgain()
    {
        var path = Temp();
        KnownHosts.Load(path).Add("198.51.100.30", 22, "ssh-ed25519", KeyA);
        Assert.StartsWith("|1|", File.ReadAllText(path));
        Assert.DoesNotContain("198.51.100.30", File.ReadAllText(path));
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Load(path).Verify("198.51.100.30", 22, "ssh-ed25519", KeyA, out _));
    }

    [Fact]
    public void FingerprintMatchesOpenSshFormat() =>
        Assert.Matches("^SHA256:[A-Za-z0-9+/]{43}$", KnownHosts.Fingerprint(KeyA));
}

public class InventoryTests
{
    [Fact]
    public void RoundTripsAndSelectsByNameAndTag()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".yml");
        var inv = HostInventory.Load(path);
        inv.Hosts.Add(new HostEntry { Name = "hv1", Address = "198.51.100.11", Tags = ["rack1"] });
        inv.Hosts.Add(new HostEntry { Name = "hv2", Address = "198.51.100.12", Port = 2222, User = "ops", Sudo = true, Tags = ["rack2"] });
        inv.Save();
        var back = HostInventory.Load(path);
        Assert.Equal(2, back.Hosts.Count);
        Assert.Equal(2222, back.Find("HV2")!.Port);
        Assert.True(back.Find("hv2")!.Sudo);
        Assert.Equal(["hv1"], back.Select(tags: ["rack1"]).Select(h => h.Name));
        Assert.Equal(["hv1", "hv2"], back.Select(["hv*"]).Select(h => h.Name));
        var ex = Assert.Throws<VfException>(() => back.Select(["nope"]));
        Assert.Equal("HostNotFound", ex.ErrorId);
    }

    [Fact]
    public void BadYamlNamesTheLine()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "hosts:\n  - name: hv1\n    port: [oops\n");
        var ex = Assert.Throws<VfException>(() => HostInventory.Load(path));
        Assert.Equal("InventoryUnreadable", ex.ErrorId);
        Assert.Contains("line", ex.Message);
    }

    [Fact]
    public void DuplicateHostNamesAreAnErrorNamingTheFileAndBothLines()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "hosts:\n  - name: hv1\n    address: 198.51.100.11\n  - name: hv2\n    address: 198.51.100.12\n  - name: HV1\n    address: 198.51.100.13\n");
        var ex = Assert.Throws<VfException>(() => HostInventory.Load(path));
        Assert.Equal("DuplicateHostName", ex.ErrorId);
        Assert.Equal(FailureKind.InvalidData, ex.Kind);
        Assert.Contains($"Inventory {path} line 6:", ex.Message);
        Assert.Contains("line 2", ex.Message);
    }

    [Theory]
    [InlineData("  - name: 'a;b'\n    address: 198.51.100.11\n", "InvalidHostName")]
    [InlineData("  - name: hv1\n    address: '$(id)'\n", "InvalidHostAddress")]
    [InlineData("  - name: hv1\n    address: 198.51.100.11\n    port: 70000\n", "InvalidPort")]
    [InlineData("  - name: hv1\n    address: 198.51.100.11\n    user: '-oProxyCommand=x'\n", "InvalidUserName")]
    [InlineData("  - name: hv1\n", "InvalidHostAddress")]
    [InlineData("  -\n", "InventoryInvalid")]
    public void AnInvalidHostEntryIsAnErrorNamingTheFileAndLine(string entry, string errorId)
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "knownHosts: /tmp/kh\nhosts:\n  - name: ok\n    address: 198.51.100.10\n" + entry);
        var ex = Assert.Throws<VfException>(() => HostInventory.Load(path));
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(FailureKind.InvalidData, ex.Kind);
        Assert.StartsWith($"Inventory {path} line 5: ", ex.Message);
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("-oProxyCommand=x")]
    [InlineData("a\nb")]
    [InlineData("'")]
    public void HostileHostNamesAreRejected(string name)
    {
        var ex = Assert.Throws<VfException>(() => new HostEntry { Name = name, Address = "198.51.100.11" }.Validate());
        Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
        Assert.Throws<VfException>(() => new HostEntry { Name = "ok", Address = name }.Validate());
    }
}

public class HostProbeTests
{
    [Fact]
    public void ParsesProbeOutput()
    {
        var facts = HostProbe.Parse(new HostEntry { Name = "hv1", Address = "198.51.100.11" }, """
            hostname=vfh1
            cpumodel=AMD EPYC
            cpus=2
            hwvirt=0
            slat=0
            kvmdev=1
            memtotal=24000000
            memavail=20000000
            storefree=83886080
            bridges=vflab0 vfbr0 
            iptables=1
            qemu=7.2.18
            libvirtd=1
            libvirt=9.0.0
            domains=4
            running=2
            vcpus=4
            memcommit=524288
            """);
        Assert.Equal("qemu", facts.DomainType);
        Assert.Equal(2, facts.CpuCount);
        Assert.Equal(["vflab0", "vfbr0"], facts.Bridges);
        Assert.Equal(80, facts.StoreFreeGiB);
        Assert.Equal(512, facts.MemoryCommittedMiB);
        Assert.True(facts.Healthy);
    }

    [Fact]
    public void KvmOnlyWithHardwareVirtualizationAndDevice()
    {
        var facts = HostProbe.Parse(new HostEntry { Name = "h" }, "hwvirt=1\nkvmdev=1\nlibvirtd=1\nqemu=8\niptables=1\n");
        Assert.Equal("kvm", facts.DomainType);
    }
}

public class VirshSessionTests
{
    [Fact]
    public void SplitsInteractiveVirshOutputByItsEchoedCommands()
    {
        // As virsh prints it when stdin is not a terminal (seen on the lab): prompt, echoed command, output.
        const string raw = "virsh # list --all --uuid\n7faaeb72-7e34-452d-ad24-05b267612caf\n\nvirsh # domstate 7faaeb72-7e34-452d-ad24-05b267612caf\nrunning\n\nvirsh # echo @@VF-END-1@@\n";
        var parts = SshHost.SplitVirshOutput(raw, ["list --all --uuid", "domstate 7faaeb72-7e34-452d-ad24-05b267612caf"])!;
        Assert.Equal("7faaeb72-7e34-452d-ad24-05b267612caf", parts[0].Trim());
        Assert.Equal("running", parts[1].Trim());
        // Later replies start without the prompt, which the previous reply consumed.
        var next = SshHost.SplitVirshOutput("list --all --uuid\n\nvirsh # echo @@VF-END-1@@\n", ["list --all --uuid"])!;
        Assert.Equal("", next[0].Trim());
        Assert.Null(SshHost.SplitVirshOutput("garbage", ["list --all --uuid"]));
    }
}

public class KeyExchangePreferenceTests
{
    private static Renci.SshNet.ConnectionInfo Info() =>
        new("198.51.100.11", "root", new Renci.SshNet.PasswordAuthenticationMethod("root", "x"));

    [Fact]
    public void DefaultPrefersMlKemThenCurve25519AndDropsSha1()
    {
        var algorithms = Info().KeyExchangeAlgorithms;
        SshHost.PreferKeyExchange(algorithms, SshOptions.DefaultKeyExchange, "h");
        var names = algorithms.Keys.ToList();
        Assert.Equal(["mlkem768x25519-sha256", "curve25519-sha256"], names.Take(2));
        Assert.True(names.IndexOf("curve25519-sha256") < names.IndexOf("sntrup761x25519-sha512"));
        Assert.DoesNotContain(names, n => n.EndsWith("sha1"));
    }

    [Fact]
    public void AnInventoryCanInsistOnAPostQuantumExchange()
    {
        var algorithms = Info().KeyExchangeAlgorithms;
        SshHost.PreferKeyExchange(algorithms, " sntrup761x25519-sha512@openssh.com, mlkem768x25519-sha256 ", "h");
        Assert.Equal(["sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256"], algorithms.Keys);
    }

    [Fact]
    public void UnknownAlgorithmIsRefusedNamingIt()
    {
        var e = Assert.Throws<VfException>(() => SshHost.PreferKeyExchange(Info().KeyExchangeAlgorithms, "curve25519-sha256,rot13-kex", "h"));
        Assert.Equal("UnknownKeyExchange", e.ErrorId);
        Assert.Contains("rot13-kex", e.Message);
    }
}

/// <summary>How the session shell's replies are read: bounded, and an exit code that cannot be read is never success.</summary>
public class SessionReplyTests
{
    static StreamCursor Cursor(string text, long limit = 1 << 20) =>
        new(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), "shell", limit);

    [Fact]
    public async Task AReplyCarriesItsOutputAndExitCode()
    {
        var (output, code) = await Cursor("line 1\nline 2\n__M__ 3\nnext").ReadUntilAsync("__M__", withCode: true, default);
        Assert.Equal(("line 1\nline 2", 3), (output, code));
    }

    [Theory]
    [InlineData("out\n__M__ \n")]
    [InlineData("out\n__M__ x1\n")]
    [InlineData("out\n__M__ -1\n")]
    [InlineData("out\n__M__ 99999999999999\n")]
    public async Task AnUnreadableExitCodeIsAnErrorNotSuccess(string text)
    {
        var e = await Assert.ThrowsAsync<ReplyException>(() => Cursor(text).ReadUntilAsync("__M__", withCode: true, default));
        Assert.Equal("ExitCodeUnreadable", e.ErrorId);
    }

    [Fact]
    public async Task AReplyLongerThanTheBoundIsAnErrorNotKeptInMemory()
    {
        var e = await Assert.ThrowsAsync<ReplyException>(() =>
            Cursor(new string('x', 300_000) + "\n__M__ 0\n", limit: 100_000).ReadUntilAsync("__M__", withCode: true, default));
        Assert.Equal("CommandOutputTooLarge", e.ErrorId);
        var virsh = await Assert.ThrowsAsync<ReplyException>(() =>
            Cursor(new string('x', 300_000) + "@@END@@", limit: 100_000).ReadUntilTextAsync("@@END@@", default));
        Assert.Equal("CommandOutputTooLarge", virsh.ErrorId);
        // Within the bound the same reply is read whole.
        var (output, _) = await Cursor(new string('x', 300_000) + "\n__M__ 0\n", limit: 400_000).ReadUntilAsync("__M__", withCode: true, default);
        Assert.Equal(300_000, output.Length);
    }

    [Fact]
    public void TheDefaultBoundIs64MiB() => Assert.Equal(64L << 20, new SshOptions().MaxOutputBytes);
}

/// <summary>RSA host keys: SSH.NET names them by the signature algorithm; known_hosts by the key type (issue 13, defect 11).</summary>
public class RsaHostKeyTests
{
    private static byte[] Blob(string type)
    {
        var ms = new MemoryStream();
        void Str(byte[] b) { ms.Write([(byte)(b.Length >> 24), (byte)(b.Length >> 16), (byte)(b.Length >> 8), (byte)b.Length]); ms.Write(b); }
        Str(Encoding.ASCII.GetBytes(type)); Str([1, 0, 1]); Str(Enumerable.Repeat((byte)7, 64).ToArray());
        return ms.ToArray();
    }

    private static string Temp(params string[] lines)
    {
        var p = Path.GetTempFileName();
        File.WriteAllLines(p, lines);
        return p;
    }

    [Theory]
    [InlineData("rsa-sha2-512")]
    [InlineData("rsa-sha2-256")]
    [InlineData("ssh-rsa")]
    public void AnRsaKeyOnRecordAsSshRsaIsTrustedWhateverSignatureAlgorithmNamesIt(string negotiated)
    {
        var key = Blob("ssh-rsa");
        var kh = KnownHosts.Load(Temp($"198.51.100.13 ssh-rsa {Convert.ToBase64String(key)}"));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("198.51.100.13", 22, negotiated, key, out _));
        Assert.Equal(["ssh-rsa"], kh.KeyTypesFor("198.51.100.13", 22));
    }

    [Fact]
    public void TrustOnFirstUseRecordsAnRsaKeyAsSshRsaAsOpenSshWould()
    {
        var path = Temp();
        var key = Blob("ssh-rsa");
        KnownHosts.Load(path).Add("198.51.100.13", 22, "rsa-sha2-512", key);
        Assert.Contains($" ssh-rsa {Convert.ToBase64String(key)}", File.ReadAllText(path));
        Assert.Equal(HostKeyVerdict.Trusted, KnownHosts.Load(path).Verify("198.51.100.13", 22, "rsa-sha2-256", key, out _));
    }

    [Fact]
    public void TheHostKeyAlgorithmsOfTheKeyTypeOnRecordAreNegotiatedFirst()
    {
        var algorithms = new Renci.SshNet.ConnectionInfo("198.51.100.11", "root", new Renci.SshNet.PasswordAuthenticationMethod("root", "x")).HostKeyAlgorithms;
        var before = algorithms.Keys.ToList();
        SshHost.PreferHostKeys(algorithms, ["ssh-rsa"]);
        var names = algorithms.Keys.ToList();
        Assert.Equal(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"], names.Take(3));
        Assert.Equal(before.Order(), names.Order());
        SshHost.PreferHostKeys(algorithms, ["ssh-ed25519"]);
        Assert.Equal("ssh-ed25519", algorithms.Keys.First());
    }
}

/// <summary>-Credential's secret decrypts an encrypted key and is then never offered as a login password (issue 13, defect 10).</summary>
public class KeyPassphraseTests
{
    private static string NewKey(string passphrase)
    {
        var dir = Directory.CreateTempSubdirectory("vf-pp-").FullName;
        var key = Path.Combine(dir, "id_ed25519");
        var p = System.Diagnostics.Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "vf-test", "-f", key])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return key;
    }

    private static Renci.SshNet.ConnectionInfo Info(string keyFile, string secret) =>
        new SshHost(new HostEntry { Name = "h", Address = "198.51.100.11", KeyFile = keyFile },
            new SshOptions { Password = secret, KeyPassphrase = secret, KnownHostsPath = Path.GetTempFileName() }).BuildConnectionInfo();

    [Fact]
    public void AKeyPassphraseIsNeverOfferedAsALoginPassword()
    {
        var methods = Info(NewKey("s3cret pass"), "s3cret pass").AuthenticationMethods;
        Assert.Single(methods);
        Assert.IsType<Renci.SshNet.PrivateKeyAuthenticationMethod>(methods[0]);
    }

    [Fact]
    public void WithAnUnencryptedKeyTheCredentialIsTheLoginPassword()
    {
        var methods = Info(NewKey(""), "login pw").AuthenticationMethods;
        Assert.Contains(methods, m => m is Renci.SshNet.PasswordAuthenticationMethod);
    }
}
