using System.Diagnostics;
using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>Reliability checklist items on real hosts: host lock, disk full during an image copy, untrusted images.</summary>
[Collection("lab3")]
public class HostSafetyLabTests(ThreeHostLab lab)
{
    [Fact]
    public void AChangeWaitsForTheHostLockHeldByAnotherRun()
    {
        _ = GuestImages.Dir;
        lab.Shell.Ok("Import-VfImage -Path $p -Host vfh3 | Out-Null", new Dictionary<string, object?> { ["p"] = GuestImages.Linux });
        // Another run holds vfh3's lock for 6 s; our create must wait for it, then succeed.
        var holder = HoldLock("vfh3", 6);
        var sw = Stopwatch.StartNew();
        var created = lab.Shell.Ok("New-VfInstance -Image vflinux -Name locked -InstanceType t1.micro -Host vfh3").Select(o => (Instance)o.BaseObject).Single();
        sw.Stop();
        holder.WaitForExit();
        Assert.Equal(InstanceState.Running, created.State);
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(4), $"did not wait for the lock ({sw.Elapsed})");
        lab.Shell.Ok("Remove-VfInstance locked -Confirm:$false");
    }

    /// <summary>Another run (a plain flock on the host) holding the VirtFleet lock of <paramref name="host"/>.</summary>
    private Process HoldLock(string host, int seconds)
    {
        var holder = Process.Start("nsenter", ["-t", lab.Status.Hosts.Single(h => h.Name == host).Pid.ToString(), "-m", "-n",
            "sh", "-c", $"install -d -m 0700 {HostLock.LockDirectory} && exec flock {HostLock.LockPath} sleep {seconds}"])!;
        var until = DateTime.UtcNow.AddSeconds(10);
        while (lab.InHost(host, $"flock -n {HostLock.LockPath} true").Code == 0 && DateTime.UtcNow < until) Thread.Sleep(100);
        return holder;
    }

    [Fact]
    public void StopAndImportWaitForAHeldHostLockThenFailWithHostLocked()
    {
        _ = GuestImages.Dir;
        lab.Shell.Ok("Import-VfImage -Path $p -Host vfh3 | Out-Null", new Dictionary<string, object?> { ["p"] = GuestImages.Linux });
        lab.Shell.Ok("New-VfInstance -Image vflinux -Name lockstop -InstanceType t1.micro -Host vfh3 | Out-Null");
        var holder = HoldLock("vfh3", 60);
        try
        {
            var sw = Stopwatch.StartNew();
            var stop = lab.Shell.Run("Stop-VfInstance lockstop -Force -OperationTimeout 16");
            sw.Stop();
            var e = Assert.Single(stop.Errors);
            Assert.StartsWith("HostLocked", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceUnavailable, e.CategoryInfo.Category);
            Assert.True(sw.Elapsed > TimeSpan.FromSeconds(6), $"did not wait for the lock ({sw.Elapsed})");
            // Not run unserialized: the instance is still running.
            Assert.Equal("running", lab.InHost("vfh3", "virsh -c qemu:///system domstate lockstop").Out.Trim());

            var import = lab.Shell.Run("Import-VfImage -Path $p -Name lockimg -OsFamily Linux -Host vfh3 -OperationTimeout 16",
                new Dictionary<string, object?> { ["p"] = Path.Combine(GuestImages.Linux, "disk.qcow2") });
            Assert.Contains(import.Errors, x => x.FullyQualifiedErrorId.StartsWith("HostLocked"));
            Assert.Equal(1, lab.InHost("vfh3", "ls -A /var/lib/libvirt/virtfleet/images | grep -q lockimg").Code);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
            lab.Shell.Run("Remove-VfInstance lockstop -Force -Confirm:$false");
            lab.Shell.Run("Remove-VfImage lockimg -Confirm:$false");
            var cached = Path.Combine(VirtFleet.Images.ImageStore.LocalCacheDir, "lockimg");
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

    [Fact]
    public void ANonRootUserOnTheHostCannotCreateOrHoldTheHostLock()
    {
        lab.Shell.Ok("Get-VfInstance -Host vfh1 | Out-Null");
        lab.Shell.Ok("Test-VfHost vfh1 | Out-Null");
        var asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 9>>" + HostLock.LockPath + " && flock -n 9 && echo HELD'";
        var (code, output) = lab.InHost("vfh1", asNobody);
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("HELD", output);
        Assert.Equal("0:700", lab.InHost("vfh1", "stat -c %u:%a " + HostLock.LockDirectory).Out.Trim());
    }

    [Fact]
    public async Task AClientThatGaveUpDoesNotHoldTheHostLockPastItsBound()
    {
        var lh = lab.Status.Hosts.Single(h => h.Name == "vfh1");
        var entry = new HostEntry { Name = lh.Name, Address = lh.Address, KeyFile = lab.Status.KeyFile };
        await using var host = new SshHost(entry, new SshOptions { KnownHostsPath = lab.Status.KnownHosts, CommandTimeout = TimeSpan.FromSeconds(6) });
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => HostLock.RunAsync(host, "sleep 301.7", giveUp.Token));
        Assert.Equal(1, lab.InHost("vfh1", $"flock -n {HostLock.LockPath} true").Code); // still held right after the client left
        // Bound 6 s from the start (plus timeout's 5 s grace to KILL): free well before the script's own 300 s.
        var until = DateTime.UtcNow.AddSeconds(15);
        while (lab.InHost("vfh1", $"flock -n {HostLock.LockPath} true").Code != 0)
        {
            Assert.True(DateTime.UtcNow < until, "the host lock is still held after the script's bound");
            Thread.Sleep(250);
        }
        Assert.Equal(1, lab.InHost("vfh1", "pgrep -x -f 'sleep 301.7'").Code);
    }

    [Fact]
    public void DiskFullDuringAnImageCopyIsACleanErrorWithNothingLeft()
    {
        _ = GuestImages.Dir;
        var host = lab.Status.Hosts.Single(h => h.Name == "vfh2");
        // A 1 MiB filesystem over vfh2's image store, in that host's mount namespace only.
        Assert.Equal(0, lab.InHost("vfh2", "mkdir -p /var/lib/libvirt/virtfleet/images && mount -t tmpfs -o size=1m tmpfs /var/lib/libvirt/virtfleet/images").Code);
        try
        {
            var r = lab.Shell.Run("Import-VfImage -Path $p -Host vfh2", new Dictionary<string, object?> { ["p"] = GuestImages.Linux });
            var e = Assert.Single(r.Errors);
            Assert.Equal("vfh2", e.TargetObject);
            Assert.Equal("", lab.InHost("vfh2", "ls -A /var/lib/libvirt/virtfleet/images").Out.Trim());
        }
        finally
        {
            lab.InHost("vfh2", "umount /var/lib/libvirt/virtfleet/images");
        }
    }

    [Fact]
    public void QcowWithABackingFileIsRefusedBeforeAnyUpload()
    {
        var dir = Directory.CreateTempSubdirectory("vf-evil-").FullName;
        LabFixture.Sh($"qemu-img create -q -f qcow2 {dir}/base.qcow2 16M && qemu-img create -q -f qcow2 -F raw -b /etc/shadow {dir}/evil.qcow2");
        var r = lab.Shell.Run($"Import-VfImage -Path '{dir}/evil.qcow2' -Name evil -OsFamily Linux");
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("Qcow2BackingFile", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category);
        foreach (var h in lab.Status.Hosts) Assert.Equal(1, lab.InHost(h.Name, "test -e /var/lib/libvirt/virtfleet/images/evil").Code);
    }
}
