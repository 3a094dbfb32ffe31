using System.Diagnostics;
using VirtFleet.Model;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Add-VfHost -Local as an admin on the hypervisor itself would use it: the built module (vfsh) runs inside one lab host's
/// namespaces (mount, network, UTS: its /run/libvirt, /var/lib/libvirt and host name) with an inventory holding only
/// that host as the local machine, no SSH. What it does must show on that host's libvirtd as the other hosts' SSH
/// sessions and virsh see it, and nowhere else.
/// </summary>
[Collection("lab3")]
public class LocalHostLabTests : IDisposable
{
    private const string Target = "vfh2";
    private readonly ThreeHostLab _lab;
    private readonly ITestOutputHelper _out;
    private readonly string _home = Directory.CreateTempSubdirectory("vf-local-lab-").FullName;
    private readonly string _name = "loc" + Guid.NewGuid().ToString("N")[..6];

    public LocalHostLabTests(ThreeHostLab lab, ITestOutputHelper output)
    {
        _lab = lab;
        _out = output;
    }

    public void Dispose()
    {
        // Whatever a failed run left on the host, removed over SSH from outside.
        _lab.Shell.Run("Get-VfInstance -Name $n | Remove-VfInstance -Confirm:$false", new Dictionary<string, object?> { ["n"] = _name });
        Directory.Delete(_home, recursive: true);
    }

    /// <summary>
    /// Runs a script in a new vfsh inside the target host's namespaces, with a private home and the local-only inventory;
    /// as root, or as <paramref name="user"/> (runuser) when given.
    /// </summary>
    private (int Code, string Out, long Ms) Local(string script, string? user = null)
    {
        var pid = _lab.Status.Hosts.Single(h => h.Name == Target).Pid;
        var file = Path.Combine(_home, "step.ps1");
        File.WriteAllText(file, "$ErrorActionPreference = 'Stop'\n" + script);
        var vfsh = Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh");
        var env = string.Join(' ', new[]
        {
            "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + _home, "XDG_CONFIG_HOME=" + _home + "/config", "XDG_DATA_HOME=" + _home + "/data",
            "VIRTFLEET_INVENTORY=" + _home + "/inventory.yaml", "VIRTFLEET_KEYPAIRS=" + _home + "/keys", "VF_IMAGE=" + GuestImages.Linux,
            "VF_NAME=" + _name, "DOTNET_CLI_HOME=" + _home, "LANG=C.UTF-8",
        }.Select(Transport.ShellQuote.Quote));
        var sw = Stopwatch.StartNew();
        var asUser = user is null ? "" : $"runuser -u {user} -- ";
        var (code, output) = LabFixture.Sh($"nsenter -t {pid} -m -n -u -- {asUser}env -i {env} {Transport.ShellQuote.Quote(vfsh)} -File {Transport.ShellQuote.Quote(file)}", 300);
        _out.WriteLine($"--- in {Target} ({sw.ElapsedMilliseconds} ms, exit {code}):\n{script}\n{output}");
        return (code, output, sw.ElapsedMilliseconds);
    }

    private string Ok(string script, string? user = null)
    {
        var (code, output, _) = Local(script, user);
        Assert.True(code == 0, output);
        return output;
    }

    /// <summary>The instance's state on each lab host, as that host's own virsh says ("" where it is not defined).</summary>
    private Dictionary<string, string> VirshStates() => _lab.Status.Hosts.ToDictionary(h => h.Name,
        h => _lab.InHost(h.Name, $"virsh domstate {_name} 2>/dev/null || true").Out.Trim());

    private void SeenFromOutside(string state)
    {
        var states = VirshStates();
        Assert.Equal(state, states[Target]);
        Assert.All(states.Where(s => s.Key != Target), s => Assert.Equal("", s.Value));
        // The fleet as an SSH admin sees it: the instance exists on the target host only.
        var seen = _lab.Shell.Ok("Get-VfInstance -Name $n", new Dictionary<string, object?> { ["n"] = _name }).Select(o => (Instance)o.BaseObject).ToList();
        Assert.Equal(Target, Assert.Single(seen).Host);
    }

    [Fact]
    public void AddVfHostLocalManagesThisMachinesLibvirtdWithoutSsh()
    {
        // sshd of the target stays up: what proves "no SSH" is that the inventory holds no address and the local transport
        // has made no handshake (Get-VfConnection), while the instance shows on this host's libvirtd.
        var first = Ok("""
            $h = Add-VfHost -Local
            "HOST $($h.Name) local=$($h.Local) address='$($h.Address)'"
            $t = Test-VfHost
            "TEST $($t.Name) reachable=$($t.Reachable) libvirt=$($t.LibvirtRunning) hostname=$($t.Hostname)"
            Import-VfImage -Path $env:VF_IMAGE | Out-Null
            $i = New-VfInstance -Image vflinux -InstanceType t1.micro -Name $env:VF_NAME -NoNetwork
            "NEW $($i.Name) host=$($i.Host) state=$($i.State)"
            $g = Get-VfInstance -Name $env:VF_NAME
            "GET $($g.Name) host=$($g.Host) state=$($g.State)"
            # The first listing brings libvirt.so on qemu:///system up in the background; list until it serves.
            for ($k = 0; $k -lt 100 -and (Get-VfConnection).Libvirt -ne 'native'; $k++) { Start-Sleep -Milliseconds 200; Get-VfInstance | Out-Null }
            # The same listing through native and, right after, through virsh (the lease may have come since the first read).
            $n = Get-VfInstance -Name $env:VF_NAME
            $env:VF_LIBVIRT = 'virsh'; $v = Get-VfInstance -Name $env:VF_NAME; $env:VF_LIBVIRT = $null
            "SAME $(($n | ConvertTo-Json -Compress -Depth 4) -eq ($v | ConvertTo-Json -Compress -Depth 4))"
            Get-VfConnection | ForEach-Object { "CONN $($_.Host) transport=$($_.Transport) handshakes=$($_.Handshakes) connected=$($_.Connected) libvirt=$($_.Libvirt) note=$($_.LibvirtNote)" }
            """);
        Assert.Contains($"HOST {Target} local=True address=''", first);
        Assert.Contains($"TEST {Target} reachable=True libvirt=True hostname={Target}", first);
        Assert.Contains($"NEW {_name} host={Target} state=Running", first);
        Assert.Contains($"GET {_name} host={Target} state=Running", first);
        // libvirt.so on qemu:///system answered for this host (its listing equal to the virsh one); no SSH handshake at all.
        Assert.Contains($"CONN {Target} transport=local handshakes=0 connected=True libvirt=native note=auto: libvirt.so on qemu:///system, no SSH", first);
        Assert.Contains("SAME True", first);
        Assert.Contains("local: true", File.ReadAllText(Path.Combine(_home, "inventory.yaml")));
        SeenFromOutside("running");

        // The virsh path (the interactive virsh in the local session) when asked for.
        var stopped = Ok("""
            $env:VF_LIBVIRT = 'virsh'
            Stop-VfInstance -Name $env:VF_NAME -Force -Confirm:$false | Out-Null
            "STATE $((Get-VfInstance -Name $env:VF_NAME).State)"
            Get-VfConnection | ForEach-Object { "CONN libvirt=$($_.Libvirt) note=$($_.LibvirtNote)" }
            """);
        Assert.Contains("STATE Stopped", stopped);
        Assert.Contains("CONN libvirt=virsh note=virsh asked for", stopped);
        SeenFromOutside("shut off");
        var started = Ok("Start-VfInstance -Name $env:VF_NAME | Out-Null; \"STATE $((Get-VfInstance -Name $env:VF_NAME).State)\"");
        Assert.Contains("STATE Running", started);
        SeenFromOutside("running");

        var (code, removed, ms) = Local("Remove-VfInstance -Name $env:VF_NAME -Confirm:$false; \"LEFT $(@(Get-VfInstance).Count)\"");
        Assert.True(code == 0, removed);
        Assert.Contains("LEFT 0", removed);
        Assert.All(VirshStates().Values, s => Assert.Equal("", s));
        Assert.Empty(_lab.Shell.Ok("Get-VfInstance -Name $n", new Dictionary<string, object?> { ["n"] = _name }));
        Assert.DoesNotContain(_name, _lab.InHost(Target, "ls -A /var/lib/libvirt/virtfleet/instances 2>/dev/null; true").Out);
        _out.WriteLine($"remove through the local host: {ms} ms (a new vfsh included)");
    }

    [Fact]
    public void ANonRootAdminOnTheHypervisorWorksThroughSudoAndARefusedSudoIsOneClearError()
    {
        // The lab hosts share the machine's /etc (passwd, sudoers.d): the user and its sudoers entry are made for this test
        // and removed after it.
        const string User = "vftest-local";
        const string Sudoers = "/etc/sudoers.d/vftest-local";
        void Sh(string command) { var (c, o) = LabFixture.Sh(command); Assert.True(c == 0, $"{command}: {o}"); }
        void RemoveUser() => LabFixture.Sh($"rm -f {Sudoers}; if id {User} >/dev/null 2>&1; then pkill -KILL -u {User}; sleep 0.5; userdel -f {User}; fi; true");
        void AllowSudo(bool withPassword)
        {
            File.WriteAllText(Sudoers + ".new", $"{User} ALL=(root) {(withPassword ? "" : "NOPASSWD: ")}ALL\n");
            Sh($"chmod 0440 {Sudoers}.new && visudo -c -q -f {Sudoers}.new && mv -f {Sudoers}.new {Sudoers}");
        }
        RemoveUser();
        try
        {
            Sh($"useradd -M -d {_home} -s /bin/sh {User} && chown -R {User} {_home}");
            AllowSudo(withPassword: false);
            var run = Ok("""
                Add-VfHost -Local | Out-Null
                "WHO $(id -un)"
                $t = Test-VfHost
                "TEST $($t.Name) reachable=$($t.Reachable) libvirt=$($t.LibvirtRunning)"
                Import-VfImage -Path $env:VF_IMAGE -Name locsudo | Out-Null
                $i = New-VfInstance -Image locsudo -InstanceType t1.micro -Name $env:VF_NAME -NoNetwork
                "NEW $($i.Name) host=$($i.Host) state=$($i.State)"
                for ($k = 0; $k -lt 100 -and (Get-VfConnection).Libvirt -ne 'native'; $k++) { Start-Sleep -Milliseconds 200; Get-VfInstance | Out-Null }
                "GET $((Get-VfInstance -Name $env:VF_NAME).State)"
                Get-VfConnection | ForEach-Object { "CONN libvirt=$($_.Libvirt) note=$($_.LibvirtNote)" }
                """, User);
            Assert.Contains($"WHO {User}", run);
            Assert.Contains($"TEST {Target} reachable=True libvirt=True", run);
            Assert.Contains($"NEW {_name} host={Target} state=Running", run);
            // libvirtd may refuse this user's own connection: the native path goes through sudo -n virt-ssh-helper, a local process.
            Assert.Contains("CONN libvirt=native note=auto: libvirt.so through sudo -n virt-ssh-helper qemu:///system, no SSH", run);
            Assert.Contains("GET Running", run);
            SeenFromOutside("running");
            // The image (a name no other test uses, so the upload really happens) went into root's store through sudo -n:
            // root's files, no partial left.
            var owners = _lab.InHost(Target, "find /var/lib/libvirt/virtfleet/images/locsudo -type f -printf '%u %p\\n'").Out;
            Assert.Contains("root ", owners);
            Assert.DoesNotContain(User, owners);
            Assert.DoesNotContain(".vf-partial", owners);
            Assert.Contains("LEFT 0", Ok("Remove-VfInstance -Name $env:VF_NAME -Confirm:$false; \"LEFT $(@(Get-VfInstance).Count)\"", User));
            Assert.All(VirshStates().Values, s => Assert.Equal("", s));

            // sudo that wants a password: one SecurityError naming NOPASSWD, and no prompt (the run ends at once).
            AllowSudo(withPassword: true);
            var (_, refused, ms) = Local("""
                $e = $null
                Get-VfInstance -ErrorVariable e -ErrorAction SilentlyContinue
                "ERR $($e[0].FullyQualifiedErrorId) $($e[0].CategoryInfo.Category)"
                "MSG $($e[0].Exception.Message)"
                """, User);
            Assert.Contains("ERR SudoPasswordRequired", refused); // (vfsh exits 1: the run had an error)
            Assert.Contains("SecurityError", refused);
            Assert.Contains("NOPASSWD", refused);
            Assert.True(ms < 30_000, $"took {ms} ms");
        }
        finally
        {
            RemoveUser();
            LabFixture.Sh($"chown -R root {_home}");
            _lab.Shell.Run("Remove-VfInstance -Name $n -Force -Confirm:$false; Remove-VfImage locsudo -Confirm:$false",
                new Dictionary<string, object?> { ["n"] = _name });
        }
    }
}
