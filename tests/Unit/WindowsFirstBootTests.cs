using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using VirtFleet.CloudInit;
using VirtFleet.KeyPairs;
using VirtFleet.Windows;
using Xunit;
using T = VirtFleet.Tests.CloudInitTooling;

namespace VirtFleet.Tests;

/// <summary>
/// The Windows administrator password path end to end without a guest: RSA key pairs, the first-boot script run by real
/// pwsh (account calls stood in, the console a file), the console block found and decrypted as Get-VfPassword does.
/// </summary>
[Collection(KeyPairFolder.Name)]
public sealed class WindowsFirstBootTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vf-win-").FullName;
    private readonly string? _old = Environment.GetEnvironmentVariable(UserPaths.KeyPairsVariable);

    public WindowsFirstBootTests() => Environment.SetEnvironmentVariable(UserPaths.KeyPairsVariable, _folder);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(UserPaths.KeyPairsVariable, _old);
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>pwsh as the build installs it ($VF_TOOLS, as CI sets it, else out/tools), else one on PATH.</summary>
    private static string? Pwsh =>
        new[] { Environment.GetEnvironmentVariable("VF_TOOLS"), Path.Combine(PowerShellHost.RepoRoot, "out", "tools") }
            .OfType<string>().Where(d => d.Length > 0).Select(d => Path.Combine(d, "pwsh")).FirstOrDefault(File.Exists) ?? T.Find("pwsh");

    [Fact]
    public void RsaKeyPairsAreMadeForTheOwnerAndReadBack()
    {
        var pair = KeyPairStore.Create("win-admin", force: false, KeyType.Rsa);
        Assert.Equal(KeyType.Rsa, pair.KeyType);
        Assert.StartsWith("ssh-rsa AAAAB3NzaC1yc2E", pair.PublicKey);
        Assert.StartsWith("SHA256:", pair.Fingerprint);
        var text = File.ReadAllText(pair.PrivateKeyFile!);
        Assert.Contains("-----BEGIN RSA PRIVATE KEY-----", text);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pair.PrivateKeyFile!));
        using var rsa = PrivateKeys.LoadRsa(text);
        Assert.Equal(KeyPairStore.RsaBits, rsa.KeySize);
        // The public key line and the private key are one pair.
        var xml = FirstBootScript.RsaKeyValueXml(pair.PublicKey);
        Assert.Contains(Convert.ToBase64String(rsa.ExportParameters(false).Modulus!), xml);
        Assert.Equal(KeyType.Ed25519, KeyPairStore.Create("linux-admin", force: false).KeyType);
    }

    [Fact]
    public void AWindowsPasswordNeedsAnRsaKey()
    {
        var ed = KeyPairStore.Create("ed", force: false);
        Assert.Equal("KeyTypeUnsupported", Assert.Throws<VfException>(() => FirstBootScript.For(ed.PublicKey)).ErrorId);
        Assert.Equal("PublicKeyInvalid", Assert.Throws<VfException>(() => FirstBootScript.RsaKeyValueXml("ssh-rsa AAAA")).ErrorId);
    }

    [Fact]
    public void TheScriptStartsWithCloudbaseInitsHeaderAndCarriesOnlyThePublicKey()
    {
        var pair = KeyPairStore.Create("k", force: false, KeyType.Rsa);
        var script = FirstBootScript.For(pair.PublicKey);
        Assert.StartsWith("#ps1_sysnative\r\n$VfRsaKey = '<RSAKeyValue><Modulus>", script);
        Assert.DoesNotContain("\n", script.Replace("\r\n", ""));
        Assert.DoesNotContain("PRIVATE", script);
        Assert.True(script.All(c => c < 128), "the script is ASCII: PowerShell 2.0 reads it without a BOM");
    }

    /// <summary>The first-boot script itself, under real pwsh: its password, its encryption and its console format.</summary>
    [Fact]
    public void TheFirstBootScriptsConsoleBlockDecryptsWithTheKeyPairOnly()
    {
        if (Pwsh is not { } pwsh) { Assert.Fail("pwsh is needed: ./build.sh setup installs it into out/tools"); return; }
        var pair = KeyPairStore.Create("win", force: false, KeyType.Rsa);
        var other = KeyPairStore.Create("other", force: false, KeyType.Rsa);
        var dir = Directory.CreateTempSubdirectory("vf-fb-").FullName;
        try
        {
            var script = Path.Combine(dir, "first-boot.ps1");
            File.WriteAllText(script, FirstBootScript.For(pair.PublicKey));
            var console = Path.Combine(dir, "console.log");
            var clear = Path.Combine(dir, "clear.txt");
            File.WriteAllText(console, "cloudbase-init: starting\r\nsome boot noise <Password user=\"x\">\r\n");
            // Stand-ins for the account calls; everything else is the script as cloudbase-init runs it.
            var wrapper = Path.Combine(dir, "run.ps1");
            File.WriteAllText(wrapper, $$"""
                function Get-VfAdminName { 'Administrator' }
                function Set-VfAdminPassword([string]$Name, [string]$Password) { [IO.File]::WriteAllText('{{clear}}', "$Name`n$Password") }
                $VfConsole = '{{console}}'
                . '{{script}}'
                """);
            var psi = new ProcessStartInfo(pwsh, ["-NoProfile", "-NonInteractive", "-File", wrapper]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);

            var set = File.ReadAllText(clear).Split('\n');
            Assert.Equal("Administrator", set[0]);
            var password = set[1];
            Assert.Equal(20, password.Length);
            Assert.Contains(password, char.IsUpper);
            Assert.Contains(password, char.IsLower);
            Assert.Contains(password, char.IsDigit);
            Assert.Contains(password, c => !char.IsLetterOrDigit(c));

            var log = File.ReadAllText(console);
            Assert.DoesNotContain(password, log);
            var data = PasswordData.Find(log);
            Assert.NotNull(data);
            Assert.Equal("Administrator", data.UserName);
            Assert.Equal(password, data.Decrypt(File.ReadAllText(pair.PrivateKeyFile!)));
            var wrong = Assert.Throws<VfException>(() => data.Decrypt(File.ReadAllText(other.PrivateKeyFile!)));
            Assert.Equal("PasswordKeyMismatch", wrong.ErrorId);
            Assert.Equal(FailureKind.SecurityError, wrong.Kind);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TheLastBlockOnTheConsoleWinsAndNoBlockIsNull()
    {
        Assert.Null(PasswordData.Find("booting\n<Password user=\"a\">\n</Password>\n"));
        var log = "<Password user=\"Administrator\">\nQUFB\n</Password>\nnoise\r\n<Password user=\"Admin\">\r\nQkJC\r\n</Password>\r\n";
        Assert.Equal(new PasswordData("Admin", "QkJC"), PasswordData.Find(log));
    }

    /// <summary>Keys users bring: ssh-keygen's own format decrypts too; a passphrase-protected key is refused by name.</summary>
    [Fact]
    public void SshKeygenKeysAreReadAndProtectedOnesRefused()
    {
        if (T.Find("ssh-keygen") is not { } keygen) { Assert.Fail("ssh-keygen is needed (openssh-client)"); return; }
        var dir = Directory.CreateTempSubdirectory("vf-kg-").FullName;
        try
        {
            var key = Path.Combine(dir, "id_rsa");
            T.Ok(keygen, "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "mine", "-f", key);
            Assert.Contains("BEGIN OPENSSH PRIVATE KEY", File.ReadAllText(key));
            using (var rsa = PrivateKeys.LoadRsa(File.ReadAllText(key)))
            {
                var pub = FirstBootScript.RsaKeyValueXml(File.ReadAllText(key + ".pub"));
                Assert.Contains(Convert.ToBase64String(rsa.ExportParameters(false).Modulus!), pub);
            }
            var locked = Path.Combine(dir, "id_locked");
            T.Ok(keygen, "-q", "-t", "rsa", "-b", "2048", "-N", "secret phrase", "-f", locked);
            Assert.Equal("KeyFileEncrypted", Assert.Throws<VfException>(() => PrivateKeys.LoadRsa(File.ReadAllText(locked))).ErrorId);
            var ed = Path.Combine(dir, "id_ed");
            T.Ok(keygen, "-q", "-t", "ed25519", "-N", "", "-f", ed);
            Assert.Equal("KeyTypeUnsupported", Assert.Throws<VfException>(() => PrivateKeys.LoadRsa(File.ReadAllText(ed))).ErrorId);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AWindowsSeedIsAConfigDriveWithTheScriptFirstAndTheUsersDataAfter()
    {
        var pair = KeyPairStore.Create("w", force: false, KeyType.Rsa);
        var seed = new ConfigDriveSeed
        {
            InstanceId = "i-0badc0de", Hostname = "win-1", UserData = "#ps1_sysnative\nWrite-Host '$(id)'\n",
            FirstBootScript = FirstBootScript.For(pair.PublicKey),
        };
        var files = seed.Files().ToDictionary(f => f.Name, f => Encoding.UTF8.GetString(f.Content));
        Assert.Equal([ConfigDriveSeed.MetaDataPath, ConfigDriveSeed.UserDataPath], files.Keys);
        var meta = JsonNode.Parse(files[ConfigDriveSeed.MetaDataPath])!;
        Assert.Equal("i-0badc0de", (string)meta["uuid"]!);
        Assert.Equal("win-1", (string)meta["hostname"]!);
        Assert.Null(meta["admin_pass"]);
        Assert.Null(meta["public_keys"]);
        var mime = files[ConfigDriveSeed.UserDataPath];
        Assert.Contains("filename=\"virtfleet-first-boot.ps1\"", mime);
        Assert.Contains("filename=\"user-data.ps1\"", mime);
        Assert.True(mime.IndexOf("virtfleet-first-boot.ps1", StringComparison.Ordinal) < mime.IndexOf("user-data.ps1", StringComparison.Ordinal));
        if (T.Python is not null)
        {
            var r = T.Run(T.Python, Encoding.UTF8.GetBytes(mime), "-c", """
                import sys, json, email
                msg = email.message_from_bytes(sys.stdin.buffer.read())
                print(json.dumps([[p.get_content_type(), p.get_filename(), p.get_payload(decode=True).decode()] for p in msg.walk() if not p.is_multipart()]))
                """);
            Assert.True(r.Exit == 0, r.Err);
            var parts = JsonNode.Parse(r.Text)!.AsArray();
            Assert.Equal(2, parts.Count);
            Assert.StartsWith("#ps1_sysnative", (string)parts[0]![2]!);
            Assert.Equal("#ps1_sysnative\nWrite-Host '$(id)'\n", (string)parts[1]![2]!);
        }
        // Without user data the script is the user data; without a key there is no script, and the user's data goes as it is.
        Assert.StartsWith("#ps1_sysnative", new ConfigDriveSeed { InstanceId = "i", Hostname = "h", FirstBootScript = "#ps1_sysnative\r\n" }.ComposeUserData());
        Assert.Equal("rem cmd\r\necho hi", new ConfigDriveSeed { InstanceId = "i", Hostname = "h", UserData = "rem cmd\r\necho hi" }.ComposeUserData());
        Assert.Single(new ConfigDriveSeed { InstanceId = "i", Hostname = "h" }.Files());
        var odd = new ConfigDriveSeed { InstanceId = "i", Hostname = "h", UserData = "plain words", FirstBootScript = "#ps1_sysnative\r\n" };
        Assert.Equal("UserDataUnknownFormat", Assert.Throws<VfException>(odd.ComposeUserData).ErrorId);
    }

    [CloudInitFact("bsdtar", "blkid")]
    public void TheConfigDriveReadsAsConfig2WithItsFolders()
    {
        var seed = new ConfigDriveSeed { InstanceId = "i-1", Hostname = "w1", UserData = "#ps1\nhostname\n" };
        using var dir = new T.TempDir();
        var iso = dir["seed.iso"];
        File.WriteAllBytes(iso, seed.ToIso());
        Assert.Contains("LABEL=config-2", T.Ok("blkid", "-p", "-o", "export", iso).Split('\n'));
        var output = Directory.CreateDirectory(dir["out"]).FullName;
        T.Ok("bsdtar", "-xf", iso, "-C", output);
        Assert.Equal(seed.MetaData(), File.ReadAllText(Path.Combine(output, "openstack", "latest", "meta_data.json")));
        Assert.Equal("#ps1\nhostname\n", File.ReadAllText(Path.Combine(output, "openstack", "latest", "user_data")));
        if (T.Has("isoinfo"))
        {
            Assert.Equal(seed.MetaData(), Encoding.UTF8.GetString(T.Run("isoinfo", null, "-J", "-i", iso, "-x", "/openstack/latest/meta_data.json").Out));
            Assert.Equal(seed.MetaData(), Encoding.UTF8.GetString(T.Run("isoinfo", null, "-i", iso, "-x", "/OPENSTACK/LATEST/META_DATA.JSON;1").Out));
        }
    }
}

/// <summary>Tests that point $env:VIRTFLEET_KEYPAIRS (process-wide) at a folder of their own run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class KeyPairFolder
{
    public const string Name = "KeyPairFolder";
}
