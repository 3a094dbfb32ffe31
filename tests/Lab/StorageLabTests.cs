using VirtFleet.Images;
using VirtFleet.Model;
using VirtFleet.Storage;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Instance to image (Save-VfImage) and disk space (Get-VfStorage, Remove-VfOrphan) on real hosts and guests; the guest's
/// changed content is a file it wrote on its root disk (/cgi-bin/disk, see CheckpointLabTests).
/// </summary>
[Collection("lab3")]
public class StorageLabTests : IDisposable
{
    private const string Store = "/var/lib/libvirt/virtfleet";
    private readonly ThreeHostLab _lab;

    public StorageLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _lab.Shell.Ok("Import-VfImage -Path $l | Out-Null", new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose()
    {
        _lab.Shell.Run("Get-VfInstance sto-* | Remove-VfInstance -Confirm:$false");
        _lab.Shell.Run("Remove-VfImage sto-img -Force -Confirm:$false");
        _lab.InHost("vfh3", $"virsh -q destroy sto-orph; virsh -q undefine sto-orph; rm -rf {Store}/instances/sto-orph {Store}/instances/sto-notes.txt {Store}/sto-backup.img");
    }

    private Instance New(string args, string image = "vflinux") =>
        (Instance)_lab.Shell.Ok($"New-VfInstance -Image {image} -InstanceType t1.micro {args}").Single().BaseObject;

    [Fact]
    public void ASavedImageServesTheChangedContentOnAnotherHost()
    {
        var src = New("-Name sto-src -Host vfh1 -Network vflab -Wait -WaitTimeout 150");
        Assert.Contains("wrote changed1", CheckpointLabTests.Guest(CheckpointLabTests.Address(_lab, src), "/cgi-bin/disk?put=changed1"));

        // A running guest's disk is not consistent: refused.
        var running = _lab.Shell.Run("Save-VfImage -Instance sto-src -Name sto-img -Force");
        Assert.Equal("InstanceRunning", Assert.Single(running.Errors).FullyQualifiedErrorId.Split(',')[0]);

        _lab.Shell.Ok("Stop-VfInstance sto-src -Force");
        var img = (ImageInfo)_lab.Shell.Ok("Save-VfImage -Instance sto-src -Name sto-img -Force").Single().BaseObject;
        Assert.Equal(("sto-img", "busybox", true), (img.Name, img.OsVariant, img.Kernel));
        Assert.True(img.Manifest.VirtioDrivers);
        Assert.Equal(["vfh1"], img.Hosts);
        // Its own copy: the new disk has no backing file.
        var (code, info) = _lab.InHost("vfh1", $"qemu-img info -f qcow2 --output=json {Store}/images/sto-img/{img.Manifest.Version}/disk.qcow2");
        Assert.True(code == 0, info);
        Assert.DoesNotContain("backing-filename", info);

        // On another host, which does not hold the image: copied there from the local cache, and the guest serves what the first one wrote.
        var copy = New("-Name sto-copy -Host vfh2 -Network vflab -Wait -WaitTimeout 150", image: "sto-img");
        Assert.Equal("vfh2", copy.Host);
        Assert.Contains("changed1 written by sto-src", CheckpointLabTests.Guest(CheckpointLabTests.Address(_lab, copy), "/disk/changed1"));
    }

    [Fact]
    public void AnOrphanIsListedAndRemovedAForeignFileNeverIs()
    {
        // An orphan: an instance's disk and seed left behind when its domain went (undefined behind VirtFleet's back).
        New("-Name sto-orph -Host vfh3 -NoNetwork");
        Assert.Equal(0, _lab.InHost("vfh3", "virsh -q destroy sto-orph; virsh -q undefine sto-orph").Code);
        // Files VirtFleet did not make, in its store.
        Assert.Equal(0, _lab.InHost("vfh3", $"echo mine > {Store}/instances/sto-notes.txt && echo backup > {Store}/sto-backup.img").Code);

        var s = (HostStorage)_lab.Shell.Ok("Get-VfStorage -Host vfh3").Single().BaseObject;
        Assert.True(s.SizeBytes > 0 && s.FreeBytes > 0 && s.ImageBytes > 0, $"{s.SizeBytes} {s.FreeBytes} {s.ImageBytes}");
        var orphans = s.Orphans.Select(f => f.Path).ToList();
        Assert.Contains($"{Store}/instances/sto-orph/root.qcow2", orphans);
        Assert.Contains($"{Store}/instances/sto-orph/seed.iso", orphans);
        var foreign = s.Foreign.Select(f => f.Path).ToList();
        Assert.Contains($"{Store}/instances/sto-notes.txt", foreign);
        Assert.Contains($"{Store}/sto-backup.img", foreign);

        // -WhatIf removes nothing; a foreign file piped in is refused and kept.
        _lab.Shell.Ok("Remove-VfOrphan -Host vfh3 -WhatIf");
        Assert.Equal(0, _lab.InHost("vfh3", $"test -f {Store}/instances/sto-orph/root.qcow2").Code);
        var refused = _lab.Shell.Run("Get-VfStorage -Host vfh3 -Foreign | Remove-VfOrphan -Confirm:$false");
        Assert.Contains(refused.Errors, e => e.FullyQualifiedErrorId.StartsWith("ForeignFileKept"));

        var removed = _lab.Shell.Ok("Remove-VfOrphan -Host vfh3 -Confirm:$false -PassThru").Select(o => ((StoreFile)o.BaseObject).Path).ToList();
        Assert.Contains($"{Store}/instances/sto-orph/root.qcow2", removed);
        Assert.Contains($"{Store}/instances/sto-orph/seed.iso", removed);
        Assert.NotEqual(0, _lab.InHost("vfh3", $"test -e {Store}/instances/sto-orph").Code);
        Assert.Equal("mine", _lab.InHost("vfh3", $"cat {Store}/instances/sto-notes.txt").Out.Trim());
        Assert.Equal("backup", _lab.InHost("vfh3", $"cat {Store}/sto-backup.img").Out.Trim());
        var after = (HostStorage)_lab.Shell.Ok("Get-VfStorage -Host vfh3").Single().BaseObject;
        Assert.DoesNotContain(after.Orphans, f => f.Path.Contains("sto-orph"));
        Assert.Equal(2, after.Foreign.Count(f => f.Path.Contains("sto-")));
    }
}
