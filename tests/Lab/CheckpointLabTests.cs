using VirtFleet.Checkpoints;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Checkpoints on real guests: the lab guest keeps small files on its root disk (a tar archive on the raw disk, written
/// by its /cgi-bin/disk?put=NAME and read back by /cgi-bin/disk), so a marker written by the guest is on the instance's
/// overlay as any guest's file would be.
/// </summary>
[Collection("lab3")]
public class CheckpointLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;

    public CheckpointLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _lab.Shell.Ok("Import-VfImage -Path $l | Out-Null", new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose() => _lab.Shell.Run("Get-VfInstance cpt-* | Remove-VfInstance -Confirm:$false");

    /// <summary>A page of the guest (retried until it answers, up to <paramref name="seconds"/>).</summary>
    internal static string Guest(string address, string path, int seconds = 60)
    {
        var (code, page) = LabFixture.Sh($"timeout {seconds} sh -c 'until curl -sf --max-time 20 \"http://{address}{path}\"; do sleep 1; done'", seconds + 10);
        Assert.True(code == 0, $"http://{address}{path} did not answer: {page}");
        return page;
    }

    /// <summary>The instance's address: as New-VfInstance -Wait returned it, else read again until its lease shows (a loaded lab under TCG is slow).</summary>
    internal static string Address(LabFixture lab, Instance i, int seconds = 240)
    {
        for (var t = DateTime.UtcNow.AddSeconds(seconds); ; Thread.Sleep(3000))
        {
            if (i.Addresses.Count > 0) return i.Addresses[0];
            Assert.True(DateTime.UtcNow < t, $"{i.Name} got no address in {seconds} s");
            i = (Instance)lab.Shell.Ok($"Get-VfInstance {i.Name}").Single().BaseObject;
        }
    }

    private static List<string> DiskFiles(string page) =>
        page.Split('\n').SkipWhile(l => l.Trim() != "disk holds:").Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

    private List<Checkpoint> Checkpoints(string script) => _lab.Shell.Ok(script).Select(o => (Checkpoint)o.BaseObject).ToList();

    [Fact]
    public void RestoreBringsBackTheFirstMarkerAndDropsTheSecond()
    {
        var i = (Instance)_lab.Shell.Ok("New-VfInstance -Image vflinux -Name cpt-a -Host vfh1 -InstanceType t1.micro -Network vflab -Wait -WaitTimeout 150")
            .Single().BaseObject;
        var address = Address(_lab, i);
        Assert.Contains("wrote marker1", Guest(address, "/cgi-bin/disk?put=marker1"));

        var cp = Assert.Single(Checkpoints("Checkpoint-VfInstance cpt-a -Name first -Description 'one marker'"));
        Assert.Equal(("cpt-a", "vfh1", "first"), (cp.Instance, cp.Host, cp.Name));
        Assert.True(cp.Memory, "a running guest's checkpoint holds its memory");
        Assert.True(cp.MemoryBytes > 0);
        Assert.NotNull(cp.Created);

        Assert.Equal(["marker1", "marker2"], DiskFiles(Guest(address, "/cgi-bin/disk?put=marker2")).Order());
        // -WhatIf restores nothing.
        _lab.Shell.Ok("Restore-VfCheckpoint cpt-a -Name first -WhatIf");
        Assert.Equal(["marker1", "marker2"], DiskFiles(Guest(address, "/cgi-bin/disk")).Order());

        var restored = Assert.Single(Checkpoints("Restore-VfCheckpoint cpt-a -Name first -Confirm:$false -PassThru"));
        Assert.Equal("first", restored.Name);
        Assert.Equal(["marker1"], DiskFiles(Guest(address, "/cgi-bin/disk")));
        Assert.Equal("running", _lab.InHost("vfh1", "virsh -q domstate cpt-a").Out.Trim());

        // The overlay still sits on the image: its backing file is the image version's disk, and the domain's disk path is unchanged.
        var (code, info) = _lab.InHost("vfh1", "qemu-img info -U -f qcow2 --output=json /var/lib/libvirt/virtfleet/instances/cpt-a/root.qcow2");
        Assert.True(code == 0, info);
        var json = System.Text.Json.JsonDocument.Parse(info).RootElement;
        Assert.StartsWith("/var/lib/libvirt/virtfleet/images/vflinux/", json.GetProperty("backing-filename").GetString());
        Assert.Contains("/var/lib/libvirt/virtfleet/instances/cpt-a/root.qcow2", _lab.InHost("vfh1", "virsh -q domblklist cpt-a").Out);

        // A stopped guest's checkpoint is disk-only; removing one keeps the other.
        _lab.Shell.Ok("Stop-VfInstance cpt-a -Force");
        var off = Assert.Single(Checkpoints("Checkpoint-VfInstance cpt-a -Name off"));
        Assert.False(off.Memory);
        // A move would not carry them: its pre-check says so.
        var check = _lab.Shell.Ok("Test-VfMigration cpt-a vfh2").Select(o => (VirtFleet.Migration.MigrationCheck)o.BaseObject)
            .Single(c => c.Check == "Checkpoints");
        Assert.Equal(VirtFleet.Migration.MigrationCheckStatus.Failed, check.Status);
        _lab.Shell.Ok("Remove-VfCheckpoint cpt-a -Name first -Confirm:$false");
        var left = Assert.Single(Checkpoints("Get-VfCheckpoint cpt-a"));
        Assert.Equal("off", left.Name);
        Assert.True(left.Current);

        // Removing the instance removes its checkpoints with it (libvirt refuses to undefine a domain with snapshots otherwise).
        _lab.Shell.Ok("Remove-VfInstance cpt-a -Confirm:$false");
        Assert.DoesNotContain("cpt-a", _lab.InHost("vfh1", "virsh -q list --all --name").Out);
        Assert.Equal("", _lab.InHost("vfh1", "ls -A /var/lib/libvirt/virtfleet/instances/ | grep cpt-a || true").Out.Trim());
        Assert.Empty(Checkpoints("Get-VfCheckpoint cpt-*"));
    }
}
