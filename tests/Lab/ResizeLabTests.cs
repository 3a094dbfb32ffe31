using System.Text.RegularExpressions;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>Resize-VfInstance on a real host: the root disk grows live and never shrinks; a new type takes effect with -Restart.</summary>
[Collection("lab3")]
public class ResizeLabTests
{
    private readonly ThreeHostLab _lab;

    public ResizeLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _lab.Shell.Ok("if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }", new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    private long VirtualSize(string host, string name) => long.Parse(Regex.Match(
        _lab.InHost(host, $"qemu-img info -U -f qcow2 --output=json /var/lib/libvirt/virtfleet/instances/{name}/root.qcow2").Out,
        "\"virtual-size\": *([0-9]+)").Groups[1].Value);

    [Fact]
    public void TheDiskGrowsLiveNeverShrinksAndANewTypeTakesEffectOnRestart()
    {
        var i = (Instance)Assert.Single(_lab.Shell.Ok("New-VfInstance -Image vflinux -Name rz1 -InstanceType t1.micro -Host vfh3")).BaseObject;
        try
        {
            Assert.Equal(InstanceState.Running, i.State);
            var before = VirtualSize(i.Host, "rz1");
            var gib = (int)(before >> 30) + 1;
            _lab.Shell.Ok($"Resize-VfInstance rz1 -DiskGiB {gib} -Confirm:$false");
            Assert.Equal((long)gib << 30, VirtualSize(i.Host, "rz1"));
            // libvirt saw it live: the running guest's disk has the new capacity.
            Assert.Contains(((long)gib << 30).ToString(), _lab.InHost(i.Host, "virsh domblkinfo rz1 vda").Out);

            var shrink = _lab.Shell.Run("Resize-VfInstance rz1 -DiskGiB 1 -Confirm:$false");
            Assert.Contains(shrink.Errors, e => e.FullyQualifiedErrorId.StartsWith("ResizeInstanceFailed") && e.Exception.Message.Contains("never shrinks"));
            Assert.Equal((long)gib << 30, VirtualSize(i.Host, "rz1"));

            var after = (Instance)Assert.Single(_lab.Shell.Ok("Resize-VfInstance rz1 -InstanceType m1.small -Restart -PassThru -Confirm:$false")).BaseObject;
            Assert.Equal("m1.small", after.InstanceType);
            Assert.Equal(InstanceState.Running, after.State);
            Assert.Equal(i.InstanceId, after.InstanceId);
            Assert.Contains("1781760 KiB", _lab.InHost(i.Host, "virsh dominfo rz1").Out); // 1740 MiB, in effect after the restart
        }
        finally { _lab.Shell.Run("Remove-VfInstance rz1 -Confirm:$false"); }
    }
}
