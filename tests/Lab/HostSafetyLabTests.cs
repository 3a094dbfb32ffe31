using System.Diagnostics;
using System.Management.Automation;
using VirtFleet.Model;
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
        var holder = Process.Start("nsenter", ["-t", lab.Status.Hosts.Single(h => h.Name == "vfh3").Pid.ToString(), "-m", "-n",
            "flock", "/run/lock/virtfleet.lock", "sleep", "6"])!;
        Thread.Sleep(500);
        var sw = Stopwatch.StartNew();
        var created = lab.Shell.Ok("New-VfInstance -Image vflinux -Name locked -InstanceType t1.micro -Host vfh3").Select(o => (Instance)o.BaseObject).Single();
        sw.Stop();
        holder.WaitForExit();
        Assert.Equal(InstanceState.Running, created.State);
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(4), $"did not wait for the lock ({sw.Elapsed})");
        lab.Shell.Ok("Remove-VfInstance locked -Confirm:$false");
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
