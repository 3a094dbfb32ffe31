using System.Diagnostics;
using System.Management.Automation;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Sudo mode as a user brings it: a non-root user (vftest-ops) logging in to a lab host with the lab's key. The lab
/// hosts share the machine's /etc (passwd, sudoers.d) and /home, so the user and its sudoers entry exist on every lab
/// host and on the machine: both are made for these tests and removed after them. The lab's sshd lets any user in
/// with the lab key (one AuthorizedKeysFile).
/// </summary>
[Collection("lab3")]
public sealed class SudoLabTests : IDisposable
{
    private const string User = "vftest-ops";
    private const string Sudoers = "/etc/sudoers.d/vftest-ops";
    private readonly ThreeHostLab _lab;
    private readonly string _inventory = Path.Combine(Path.GetTempPath(), $"vf-sudo-{Guid.NewGuid():N}.yml");
    private string Inv => $"-Inventory '{_inventory}'";
    private readonly string _stateMode;

    public SudoLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        RemoveUser();
        // '*' rather than useradd's locked '!': the lab's sshd (no PAM) refuses key logins to a locked account.
        Sh($"useradd -m -s /bin/sh {User} && usermod -p '*' {User}");
        // The lab's sshd reads every user's keys from the lab's authorized_keys (a public key), which sshd opens as the
        // user: the lab folder is made passable (not listable) for the test's duration.
        _stateMode = LabFixture.Sh($"stat -c %a {lab.Status.StateDir}").Out.Trim();
        Sh($"chmod o+x {lab.Status.StateDir}");
        var h = lab.Status.Hosts.Single(x => x.Name == "vfh1");
        File.WriteAllText(_inventory, $"""
            knownHosts: {lab.Status.KnownHosts}
            hosts:
              - name: vfh1
                address: {h.Address}
                user: {User}
                sudo: true
                keyFile: {lab.Status.KeyFile}
            """);
    }

    public void Dispose()
    {
        _lab.Shell.Run($"Disconnect-VfHost vfh1 {Inv}");
        RemoveUser();
        File.Delete(_inventory);
        if (System.Text.RegularExpressions.Regex.IsMatch(_stateMode, "^[0-7]{3,4}$")) LabFixture.Sh($"chmod {_stateMode} {_lab.Status.StateDir}");
    }

    private static void RemoveUser() => LabFixture.Sh($"rm -f {Sudoers}; if id {User} >/dev/null 2>&1; then pkill -KILL -u {User}; sleep 0.5; userdel -f -r {User}; fi; true");

    private static void Sh(string command)
    {
        var (code, output) = LabFixture.Sh(command);
        Assert.True(code == 0, $"{command}: {output}");
    }

    private void AllowSudo(bool withPassword)
    {
        File.WriteAllText(Sudoers + ".new", $"{User} ALL=(root) {(withPassword ? "" : "NOPASSWD: ")}ALL\n");
        Sh($"chmod 0440 {Sudoers}.new && visudo -c -q -f {Sudoers}.new && mv -f {Sudoers}.new {Sudoers}");
        _lab.Shell.Run($"Disconnect-VfHost vfh1 {Inv}");
    }

    [Fact]
    public void ANonRootUserWithPasswordlessSudoDoesEverythingRootDoes()
    {
        _ = GuestImages.Dir;
        AllowSudo(withPassword: false);
        try
        {
            var facts = _lab.Shell.Ok($"Test-VfHost vfh1 {Inv}");
            Assert.Single(facts);
            // A disk of the user's own under a name no other test uses: the upload really happens, as vftest-ops.
            _lab.Shell.Ok($"Import-VfImage -Path $p -Name sudoimg -OsFamily Linux -Host vfh1 {Inv} | Out-Null",
                new Dictionary<string, object?> { ["p"] = Path.Combine(GuestImages.Linux, "disk.qcow2") });
            var owners = _lab.InHost("vfh1", "find /var/lib/libvirt/virtfleet/images/sudoimg -type f -printf '%u %p\\n'").Out;
            Assert.Contains("root ", owners);
            Assert.DoesNotContain(User, owners);
            Assert.DoesNotContain(".vf-partial", owners);

            var created = _lab.Shell.Ok($"New-VfInstance -Image sudoimg -Name sudo-1 -InstanceType t1.micro -Host vfh1 -NoNetwork {Inv}")
                .Select(o => (Instance)o.BaseObject).Single();
            Assert.Equal(InstanceState.Running, created.State);
            var stopped = _lab.Shell.Ok($"Stop-VfInstance sudo-1 -Force -PassThru {Inv}").Select(o => (Instance)o.BaseObject).Single();
            Assert.Equal(InstanceState.Stopped, stopped.State);
            _lab.Shell.Ok($"Remove-VfInstance sudo-1 -Confirm:$false {Inv}");
            Assert.Equal(1, _lab.InHost("vfh1", "virsh -c qemu:///system domuuid sudo-1").Code);
            // It was vftest-ops that logged in (its pooled session is still open).
            Assert.Equal(0, LabFixture.Sh($"pgrep -u {User} -f 'sshd: {User}'").Code);
        }
        finally
        {
            _lab.Shell.Run($"Remove-VfInstance sudo-1 -Force -Confirm:$false {Inv}");
            _lab.Shell.Run($"Remove-VfImage sudoimg -Confirm:$false {Inv}");
            var cached = Path.Combine(VirtFleet.Images.ImageStore.LocalCacheDir, "sudoimg");
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

    [Fact]
    public void ASudoThatWantsAPasswordIsOneClearErrorWithoutReconnecting()
    {
        AllowSudo(withPassword: true);
        var sw = Stopwatch.StartNew();
        var r = _lab.Shell.Run($"Get-VfInstance -Host vfh1 {Inv}");
        sw.Stop();
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("SudoPasswordRequired", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category);
        Assert.Contains("NOPASSWD", e.Exception.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
        // The next commands of the run fail the same way at once: no ConnectionLost, no reconnect per command.
        var test = _lab.Shell.Run($"Test-VfHost vfh1 {Inv}");
        Assert.NotEmpty(test.Errors);
        Assert.All(test.Errors, x => Assert.StartsWith("SudoPasswordRequired", x.FullyQualifiedErrorId));
    }
}
