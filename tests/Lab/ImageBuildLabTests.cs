using System.Net.Sockets;
using System.Xml.Linq;
using VirtFleet.Consoles;
using VirtFleet.ImageBuilds;
using VirtFleet.Images;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Issue 16 parts 3 and 4 on the lab: an installer ISO the project builds from Debian packages (lab/guest/build-installer.sh:
/// its boot writes a small system onto the empty root disk and powers off) plus a stand-in driver ISO go through
/// New-VfImageBuild / Complete-VfImageBuild, and an instance of the image boots the installed system from its disk; consoles.
/// </summary>
[Collection("lab3")]
public class ImageBuildLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly string _tmp = Directory.CreateTempSubdirectory("vf-isob-").FullName;

    public ImageBuildLabTests(ThreeHostLab lab) => _lab = lab;

    public void Dispose()
    {
        _lab.Shell.Run("Get-VfImageBuild | Remove-VfImageBuild -Confirm:$false");
        _lab.Shell.Run("Get-VfInstance isob*, vnc* | Remove-VfInstance -Confirm:$false");
        _lab.Shell.Run("Remove-VfImage isobimg -Confirm:$false");
        Directory.Delete(_tmp, recursive: true);
    }

    private static string Installer()
    {
        var dir = GuestImages.Dir;
        var script = Path.Combine(PowerShellHost.RepoRoot, "lab", "guest", "build-installer.sh");
        var (code, output) = LabFixture.Sh($"bash '{script}' '{dir}'", 300);
        Assert.True(code == 0, "build-installer.sh failed: " + output);
        return Path.Combine(dir, "installer");
    }

    private string Until(Func<string> read, Func<string, bool> done, int seconds, string what)
    {
        var by = DateTime.UtcNow.AddSeconds(seconds);
        var last = "";
        while (DateTime.UtcNow < by)
        {
            last = read();
            if (done(last)) return last;
            Thread.Sleep(2000);
        }
        Assert.Fail($"{what} within {seconds} s; last seen:\n{last}");
        return last;
    }

    private string Console(string name) =>
        _lab.Shell.Run($"Get-VfConsoleOutput -Instance {name}").Output.Select(o => o.BaseObject).OfType<ConsoleOutput>().FirstOrDefault()?.Output ?? "";

    [Fact]
    public void AnOsIsoAndADriverIsoBecomeAnImageWhoseInstancesBootTheInstalledSystem()
    {
        var cds = Installer();
        // As users name their files.
        var iso = Path.Combine(_tmp, "VF Installer (test).iso");
        var drivers = Path.Combine(_tmp, "virtio-win-0.1.iso");
        File.Copy(Path.Combine(cds, "vfinstaller.iso"), iso);
        File.Copy(Path.Combine(cds, "vfdrivers.iso"), drivers);
        var vars = new Dictionary<string, object?> { ["iso"] = iso, ["drv"] = drivers };

        var build = (ImageBuild)_lab.Shell.Ok("New-VfImageBuild -Iso $iso -DriverIso $drv -OsFamily Linux -OsVariant busybox -DiskGiB 1 -Name isob -Host vfh2 -MemoryMiB 256", vars)
            .Single().BaseObject;
        Assert.Equal("vfh2", build.Host);
        // The block devices: the new empty root disk, the OS CD, the driver CD, in this order, in the live domain.
        var live = XElement.Parse(_lab.InHost("vfh2", "virsh dumpxml isob").Out);
        var disks = live.Element("devices")!.Elements("disk").Select(d => (Device: d.Attribute("device")!.Value, File: d.Element("source")!.Attribute("file")!.Value)).ToList();
        Assert.Equal(3, disks.Count);
        Assert.Equal(("disk", "/var/lib/libvirt/virtfleet/instances/isob/root.qcow2"), disks[0]);
        Assert.Equal("cdrom", disks[1].Device);
        Assert.Equal("cdrom", disks[2].Device);
        var shaIso = LabFixture.Sh($"sha256sum '{iso}'").Out.Split(' ')[0];
        var shaDrv = LabFixture.Sh($"sha256sum '{drivers}'").Out.Split(' ')[0];
        Assert.Equal($"/var/lib/libvirt/virtfleet/isos/{shaIso}.iso", disks[1].File);
        Assert.Equal($"/var/lib/libvirt/virtfleet/isos/{shaDrv}.iso", disks[2].File);
        Assert.Equal(["hd", "cdrom"], live.Element("os")!.Elements("boot").Select(b => b.Attribute("dev")!.Value));

        // The installer runs from the OS CD (the empty disk does not boot), sees the driver CD, writes the disk, powers off.
        var log = Until(() => Console("isob"), t => t.Contains("vfinstaller: installed onto /dev/vda"), 150, "the installer did not finish");
        Assert.Contains("driver CD /dev/sr1: VirtFleet stand-in driver disk", log);
        var listed = Until(() => string.Join(",", _lab.Shell.Ok("Get-VfImageBuild isob").Select(o => ((ImageBuild)o.BaseObject).State)),
            s => s == "Stopped", 60, "the build did not power off");
        Assert.Equal("Stopped", listed);

        var image = (ImageInfo)_lab.Shell.Ok("Complete-VfImageBuild -Name isob -ImageName isobimg -Timeout 30").Single().BaseObject;
        Assert.Equal(("isobimg", "linux", "busybox"), (image.Name, image.OsFamily, image.OsVariant));
        Assert.True(image.Manifest.VirtioDrivers);
        Assert.Equal("virtio", image.Manifest.DiskBus);
        Assert.Empty(_lab.Shell.Ok("Get-VfImageBuild"));
        Assert.Equal("", _lab.InHost("vfh2", "ls -A /var/lib/libvirt/virtfleet/instances/isob 2>/dev/null").Out.Trim());
        // The cached ISOs stay for the next build.
        Assert.Equal(0, _lab.InHost("vfh2", $"test -f /var/lib/libvirt/virtfleet/isos/{shaIso}.iso").Code);

        // An instance of the image boots the installed system from its own disk (syslinux, then the kernel it put there).
        var inst = (Instance)_lab.Shell.Ok("New-VfInstance -Image isobimg -Name isob-1 -InstanceType t1.micro -NoNetwork").Single().BaseObject;
        Assert.Equal("vfh2", inst.Host);
        var boot = Until(() => Console("isob-1"), t => t.Contains("VF-GUEST-READY"), 120, "the installed system did not come up");
        // BOOT_IMAGE= is syslinux's (its own banner goes to the VGA screen only): the kernel was loaded from the disk.
        Assert.Contains("Command line: BOOT_IMAGE=/vmlinuz initrd=/initrd.img console=ttyS0 vfsystem=installed", boot);
        Assert.Contains("Linux version", boot);
        var instXml = XElement.Parse(_lab.InHost("vfh2", "virsh dumpxml isob-1").Out);
        Assert.Null(instXml.Element("os")!.Element("kernel"));
    }

    [Fact]
    public void ConnectVfConsoleGivesALocalPortThatAnswersWithAnRfbBanner()
    {
        _lab.Shell.Ok("Import-VfImage -Path $w -Host vfh1 | Out-Null", new Dictionary<string, object?> { ["w"] = GuestImages.Windows });
        _lab.Shell.Ok("New-VfInstance -Image win2008 -Name vnc-1 -Host vfh1 -NoNetwork | Out-Null");
        var endpoint = (ConsoleEndpoint)_lab.Shell.Ok("Connect-VfConsole -Instance vnc-1").Single().BaseObject;
        Assert.Equal("127.0.0.1", endpoint.Address);
        Assert.True(endpoint.HostPort >= 5900);
        Assert.Equal("RFB 003.008\n", RfbBanner(endpoint.Port));
        // A second viewer through the same port.
        Assert.StartsWith("RFB ", RfbBanner(endpoint.Port));
        // Closed with the host's connection.
        _lab.Shell.Ok("Disconnect-VfHost -Name vfh1");
        Assert.ThrowsAny<SocketException>(() => RfbBanner(endpoint.Port));
    }

    private static string RfbBanner(int port)
    {
        using var tcp = new TcpClient();
        tcp.Connect("127.0.0.1", port);
        tcp.ReceiveTimeout = 15000;
        var buffer = new byte[12];
        var n = 0;
        using var s = tcp.GetStream();
        while (n < 12)
        {
            var r = s.Read(buffer, n, 12 - n);
            if (r == 0) break;
            n += r;
        }
        return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
    }
}
