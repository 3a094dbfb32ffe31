using System.Xml.Linq;
using VirtFleet.ImageBuilds;
using VirtFleet.Images;
using VirtFleet.Inventory;
using VirtFleet.Libvirt;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Image builds (issue 16 part 3): the build's domain, and New/Get/Complete/Remove against a <see cref="FakeHost"/>.</summary>
public sealed class ImageBuildTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly string _dir = Directory.CreateTempSubdirectory("vf-build-").FullName;
    private readonly FakeHost _host = new("hv1");
    private readonly RecordingReporter _report = new();
    private readonly FleetScope _scope;

    public ImageBuildTests()
    {
        var inv = HostInventory.Load(Path.Combine(_dir, "inventory.yml"));
        inv.Hosts.Add(_host.Host);
        _scope = new FleetScope(inv, _ => _host, _report);
        // What the fake virsh lacks: the block devices of a domain (from its XML), as `domblklist --details` prints them.
        _host.Stub("virsh", """
            case " $* " in
              *" domblklist "*) for n; do :; done
                printf ' Type   Device   Target   Source\n------\n'
                tr '\n' ' ' < "$FAKE/domains/$n/xml" | sed 's|<disk |\n<disk |g' | sed -n "s|^<disk type=.file. device=.\([a-z]*\).*<source file=.\([^'\"]*\).*<target dev=.\([a-z]*\).*|file \1 \3 \2|p"
                exit 0 ;;
            esac
            exec sh "$FAKE/stubs/virsh" "$@"
            """);
        _host.Stub("qemu-img", """
            case "$1" in
              convert) for last; do :; done; printf 'converted' > "$last" ;;
              info) printf '{\n    "children": [\n        {\n            "info": {\n                "virtual-size": 200704\n            }\n        }\n    ],\n    "virtual-size": 4294967296,\n    "format": "qcow2"\n}\n' ;;
              *) exec sh "$FAKE/stubs/qemu-img" "$@" ;;
            esac
            """);
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string File(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }

    private ImageBuildRequest Request(string? driver = null, string family = "Linux", string? variant = null, string name = "deb") => new()
    {
        Name = name, Iso = File("os.iso", "installer"), DriverIso = driver, OsFamily = family, OsVariant = variant, DiskGiB = 4,
        Hosts = _scope.Inventory.Hosts, Profiles = OsProfileCatalog.Load(Path.Combine(PowerShellHost.RepoRoot, "templates", "os-profiles.yml")),
    };

    private static readonly HostCapabilities Caps = HostCapabilities.Parse(
        "<capabilities><host><cpu><arch>x86_64</arch></cpu></host><guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>");

    private static XElement Xml(ImageBuildRequest r, string? driver, bool unattended = false)
    {
        var d = ImageBuildPlanner.BuildDomain(r, "i-1", Guid.Parse("11111111-2222-4333-8444-555555555555"), "/var/lib/libvirt/virtfleet/isos/a.iso", driver,
            unattended, Caps, false, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return XElement.Parse(ImageBuildPlanner.ToXml(d, ImageBuildPlanner.Metadata(r, d, new string('a', 64), driver is null ? null : new string('b', 64), DateTime.UtcNow)));
    }

    private static List<string> Disks(XElement x) => x.Element("devices")!.Elements("disk")
        .Select(d => $"{d.Attribute("device")!.Value} {d.Element("target")!.Attribute("dev")!.Value} {d.Element("target")!.Attribute("bus")!.Value} {d.Element("source")!.Attribute("file")!.Value}").ToList();

    [Fact]
    public void BlockDevicesAreRootDiskThenOsCdThenDriverCdAndTheEmptyDiskBootsFirst()
    {
        var x = Xml(Request(driver: "/tmp/virtio-win.iso", family: "Windows", variant: "win2k8r2"), "/var/lib/libvirt/virtfleet/isos/b.iso", unattended: true);
        Assert.Equal([
            "disk vda virtio /var/lib/libvirt/virtfleet/instances/deb/root.qcow2",
            "cdrom sda sata /var/lib/libvirt/virtfleet/isos/a.iso",
            "cdrom sdb sata /var/lib/libvirt/virtfleet/isos/b.iso",
            "cdrom sdc sata /var/lib/libvirt/virtfleet/instances/deb/unattended.iso"], Disks(x));
        Assert.Equal(["hd", "cdrom"], x.Element("os")!.Elements("boot").Select(b => b.Attribute("dev")!.Value));
        Assert.All(x.Element("devices")!.Elements("disk").Skip(1), d => Assert.NotNull(d.Element("readonly")));
        // Windows keeps its template: Hyper-V enlightenments, localtime clock, VNC.
        Assert.Equal("localtime", x.Element("clock")!.Attribute("offset")!.Value);
        Assert.NotNull(x.Element("devices")!.Element("graphics"));
        var meta = BuildMetadata.FromDomain(x)!;
        Assert.True(meta.VirtioDrivers);
        Assert.Equal("virtio", meta.DiskBus);
        Assert.Equal("/var/lib/libvirt/virtfleet/instances/deb/root.qcow2", meta.RootDisk);
        var vf = VfMetadata.FromDomain(x)!;
        Assert.Equal(["/var/lib/libvirt/virtfleet/instances/deb/root.qcow2", "/var/lib/libvirt/virtfleet/instances/deb/unattended.iso"], vf.Disks);
    }

    [Fact]
    public void WindowsWithoutADriverIsoGetsTheTemplatesSataRootDiskAndLinuxGetsVirtio()
    {
        var win = Xml(Request(family: "Windows", variant: "win2k8r2"), null);
        Assert.Equal(["disk sda sata /var/lib/libvirt/virtfleet/instances/deb/root.qcow2", "cdrom sdb sata /var/lib/libvirt/virtfleet/isos/a.iso"], Disks(win));
        Assert.False(BuildMetadata.FromDomain(win)!.VirtioDrivers);
        var lin = Xml(Request(), null);
        Assert.StartsWith("disk vda virtio", Disks(lin)[0]);
        // The serial console is logged in the build's folder (Get-VfConsoleOutput works on builds too).
        Assert.Equal("/var/lib/libvirt/virtfleet/instances/deb/console.log",
            lin.Element("devices")!.Element("serial")!.Element("log")!.Attribute("file")!.Value);
    }

    [Fact]
    public void HostileIsoFileNamesStayTextInTheDomainXml()
    {
        var r = Request();
        var hostile = Path.Combine(_dir, "a<evil x='1'>&amp;'$(id).iso");
        System.IO.File.WriteAllText(hostile, "x");
        var req = new ImageBuildRequest { Name = "deb", Iso = hostile, OsFamily = "Linux", DiskGiB = 2, Hosts = r.Hosts, Profiles = r.Profiles };
        var x = Xml(req, null);
        Assert.Empty(x.Descendants("evil"));
        Assert.Equal(Path.GetFileName(hostile), BuildMetadata.FromDomain(x)!.IsoName);
    }

    [Fact]
    public async Task NewUploadsTheIsosOnceAndDefinesAndStartsTheBuild()
    {
        var driver = File("virtio-win.iso", "drivers");
        var build = await ImageBuildOperations.NewAsync(_scope, Request(driver: driver), None);
        Assert.NotNull(build);
        Assert.Equal("deb", build!.Name);
        Assert.Equal(Model.InstanceState.Running, build.State);
        Assert.Equal(4, build.DiskGiB);
        Assert.True(build.VirtioDrivers);
        Assert.Equal(3, build.BlockDevices.Count);
        Assert.StartsWith("vda disk ", build.BlockDevices[0]);
        var isos = Directory.GetFiles(Path.Combine(_host.Store, "isos")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(2, isos.Count);
        Assert.All(isos, f => Assert.Matches("^[0-9a-f]{64}\\.iso$", f));
        Assert.True(System.IO.File.Exists(Path.Combine(_host.Store, "instances", "deb", "root.qcow2")));
        Assert.False(System.IO.File.Exists(Path.Combine(_host.Store, "instances", "deb", ".creating")));

        // The same ISO again (under another build) is not uploaded again; the name is refused while taken.
        var uploads = _host.Calls.Count(c => c.StartsWith("mv "));
        var again = await Assert.ThrowsAsync<VfException>(() => ImageBuildOperations.NewAsync(_scope, Request(driver: driver), None));
        Assert.Equal("ImageBuildExists", again.ErrorId);
        var second = await ImageBuildOperations.NewAsync(_scope, Request(driver: driver, name: "deb2"), None);
        Assert.NotNull(second);
        Assert.DoesNotContain(_host.Scripts.Skip(_host.Scripts.Count - 3), s => s.Contains("iso-install") || s.Contains("upload.iso"));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_host.Store, "isos")).Length);
        _ = uploads;

        var listed = await ImageBuildOperations.ListAsync(_scope, _scope.Inventory.Hosts, null, None);
        Assert.Equal(["deb", "deb2"], listed.Select(b => b.Name));
        Assert.Equal(["deb2"], (await ImageBuildOperations.ListAsync(_scope, _scope.Inventory.Hosts, ["*2"], None)).Select(b => b.Name));
    }

    private ImageBuild AddBuild(string state)
    {
        var r = Request(driver: "/tmp/virtio-win.iso", variant: "debian");
        var uuid = Guid.NewGuid();
        var d = ImageBuildPlanner.BuildDomain(r, "i-5", uuid, "/var/lib/libvirt/virtfleet/isos/a.iso", "/var/lib/libvirt/virtfleet/isos/b.iso", false, Caps, false, DateTime.UtcNow);
        var xml = ImageBuildPlanner.ToXml(d, ImageBuildPlanner.Metadata(r, d, new string('a', 64), new string('b', 64), DateTime.UtcNow)).Replace(HostPaths.Store, _host.Store);
        var vf = XElement.Parse(xml).Element("metadata")!.Element(VfMetadata.Ns + "instance")!.ToString();
        _host.AddDomain("deb", uuid, state, xml, vf);
        Directory.CreateDirectory(Path.Combine(_host.Store, "instances", "deb"));
        System.IO.File.WriteAllText(Path.Combine(_host.Store, "instances", "deb", "root.qcow2"), "installed");
        return Assert.Single(ImageBuildOperations.ListAsync(_scope, _scope.Inventory.Hosts, null, None).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task CompleteMakesAnImageOfTheRootDiskWithTheBuildsPropertiesAndRemovesTheBuild()
    {
        var build = AddBuild("shut off");
        var images = await ImageBuildOperations.CompleteAsync(_scope, new CompleteImageBuildRequest { Builds = [build], ImageName = "debian12" }, None);
        Assert.Empty(_report.Failures);
        var image = Assert.Single(images);
        Assert.Equal("debian12", image.Name);
        var json = ImageManifest.Parse(System.IO.File.ReadAllText(Path.Combine(_host.Store, "images", "debian12", "image.json")), "t");
        Assert.Equal(("linux", "debian", "bios", "virtio", true), (json.OsFamily, json.OsVariant, json.Firmware, json.DiskBus, json.VirtioDrivers));
        Assert.Equal(4L << 30, json.VirtualSize);
        Assert.Equal("converted", System.IO.File.ReadAllText(Path.Combine(_host.Store, "images", "debian12", json.Version!, "disk.qcow2")));
        // The copy was of the root disk, never a CD-ROM.
        Assert.Contains(_host.Calls, c => c.StartsWith("qemu-img convert -f qcow2 -O qcow2 -- " + Path.Combine(_host.Store, "instances", "deb", "root.qcow2")));
        Assert.False(_host.HasDomain("deb"));
        Assert.False(Directory.Exists(Path.Combine(_host.Store, "instances", "deb")));
    }

    [Fact]
    public async Task CompleteWaitsForTheGuestsOwnPowerOffAndOnlyForceDestroysIt()
    {
        var build = AddBuild("running");
        // The fake's shutdown turns it off at once: stand in for a guest that ignores it.
        _host.Stub("virsh", """
            case " $* " in *" shutdown "*) exit 0 ;; esac
            exec sh "$FAKE/stubs/virsh" "$@"
            """);
        await ImageBuildOperations.CompleteAsync(_scope, new CompleteImageBuildRequest { Builds = [build], TimeoutSeconds = 1 }, None);
        var e = Assert.Single(_report.Failures);
        Assert.Equal("ImageBuildStillRunning", e.ErrorId);
        Assert.True(_host.HasDomain("deb"));
        Assert.False(Directory.Exists(Path.Combine(_host.Store, "images", "deb")));
    }

    [Fact]
    public async Task RemoveDeletesTheBuildAndItsRootDiskButKeepsTheCachedIsos()
    {
        var build = AddBuild("running");
        Directory.CreateDirectory(Path.Combine(_host.Store, "isos"));
        System.IO.File.WriteAllText(Path.Combine(_host.Store, "isos", new string('a', 64) + ".iso"), "iso");
        await ImageBuildOperations.RemoveAsync(_scope, [build], [], [], None);
        Assert.Empty(_report.Failures);
        Assert.False(_host.HasDomain("deb"));
        Assert.False(System.IO.File.Exists(Path.Combine(_host.Store, "instances", "deb", "root.qcow2")));
        Assert.True(System.IO.File.Exists(Path.Combine(_host.Store, "isos", new string('a', 64) + ".iso")));
    }

    [Fact]
    public void DefaultNameComesFromTheIsoFileName()
    {
        Assert.Equal("Win2k8R2-SP1", ImageBuildOperations.DefaultName("/x/Win2k8R2 SP1.iso".Replace(' ', '-')));
        Assert.Equal("debian-12.8.0-amd64-netinst", ImageBuildOperations.DefaultName("/x/debian-12.8.0-amd64-netinst.iso"));
        Assert.Equal("a-b", ImageBuildOperations.DefaultName("/x/a;b.iso"));
        Names.ValidateInstanceName(ImageBuildOperations.DefaultName("/x/-$(id).iso"));
    }
}
