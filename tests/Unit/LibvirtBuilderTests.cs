using VirtFleet.Libvirt;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>The defaults pass: precedence of request, image and profile, and the checks it makes.</summary>
public class LibvirtBuilderTests
{
    static VfException Fails(Action build) => Assert.Throws<VfException>(build);

    [Fact]
    public void KvmGuestsGetTheProfileCpuModeAndTcgGuestsNone()
    {
        Assert.Equal((DomainType.Kvm, "host-model"), Pair(Build(Request("k-1"), new(), kvm: true)));
        Assert.Equal((DomainType.Qemu, null), Pair(Build(Request("k-2"), new(), kvm: false)));
        static (DomainType, string?) Pair(Domain d) => (d.Type, d.CpuMode);
    }

    [Fact]
    public void TcgWindowsGuestsDropEnlightenmentsThatNeedKvm()
    {
        var image = new ImageProperties { OsFamily = "windows", OsVariant = "win2k22" };
        Assert.Contains(HyperVFeature.Vpindex, Build(Request("w-1"), image, kvm: true).Features.HyperV);
        var tcg = Build(Request("w-1"), image, kvm: false).Features.HyperV;
        Assert.Equal([HyperVFeature.Relaxed, HyperVFeature.Vapic, HyperVFeature.Spinlocks, HyperVFeature.Runtime,
            HyperVFeature.Reset, HyperVFeature.Frequencies], tcg);
    }

    [Fact]
    public void ImagePropertiesOverrideTheProfile()
    {
        var d = Build(Request("img-1"), new()
        {
            OsFamily = "windows", OsVariant = "win2k19", DiskBus = DiskBus.Ide, NicModel = NicModel.Rtl8139, Firmware = Firmware.Efi,
        }, kvm: true);
        Assert.Equal(DiskBus.Ide, d.Devices.Disks[0].Bus);
        Assert.Equal("pc", d.Os.Machine); // q35 has no IDE
        Assert.Equal(NicModel.Rtl8139, d.Devices.Interfaces[0].Model);
        Assert.Equal(Firmware.Efi, d.Os.Firmware);
    }

    [Fact]
    public void ImageWithoutVirtioDriversOverridesLinuxDefaults()
    {
        var d = Build(Request("nov-1"), new() { OsFamily = "linux", VirtioDrivers = false }, kvm: false);
        Assert.Equal((DiskBus.Sata, NicModel.E1000), (d.Devices.Disks[0].Bus, d.Devices.Interfaces[0].Model));
    }

    [Fact]
    public void ScsiDisksBringAVirtioScsiController()
    {
        var d = Build(Request("scsi-1"), new() { DiskBus = DiskBus.Scsi }, kvm: false);
        Assert.Contains(new DomainController("scsi", "virtio-scsi"), d.Devices.Controllers);
    }

    [Fact]
    public void NicRequestModelAndMacWin()
    {
        var request = Request("nic-1");
        request.Nics = [NicRequest.Network("default"), new(InterfaceType.Bridge, "br0", "52-54-00-0A-0B-0C", NicModel.E1000)];
        var nics = Build(request, new(), kvm: false).Devices.Interfaces;
        Assert.Equal(MacAddress.Derive(request.Uuid, 0), nics[0].Mac);
        Assert.Equal(("52:54:00:0a:0b:0c", NicModel.E1000, "br0"), (nics[1].Mac, nics[1].Model, nics[1].Source));
    }

    [Fact]
    public void DerivedMacsAreStableUnicastAndDistinctPerNic()
    {
        var uuid = Guid.Parse("0b7d6c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e");
        Assert.Equal(MacAddress.Derive(uuid, 0), MacAddress.Derive(uuid, 0));
        Assert.NotEqual(MacAddress.Derive(uuid, 0), MacAddress.Derive(uuid, 1));
        Assert.StartsWith("52:54:00:", MacAddress.Derive(uuid, 0));
        Assert.Equal(MacAddress.Derive(uuid, 3), MacAddress.Normalize(MacAddress.Derive(uuid, 3)));
    }

    [Theory]
    [InlineData("01:00:5e:00:00:01")] // multicast
    [InlineData("52:54:00:00:00")]
    [InlineData("52:54:00:00:00:0g")]
    [InlineData("52:54:00:00:00:01;x")]
    public void BadMacsAreRejected(string mac) =>
        Assert.Equal("InvalidMacAddress", Fails(() => MacAddress.Normalize(mac)).ErrorId);

    [Fact]
    public void MetadataListsOnlyTheDisksVirtFleetOwnsPlusTheSeed()
    {
        var request = Request("own-1");
        request.Disks.Add(new("/srv/shared/data.qcow2", Owned: false));
        request.Metadata.Disks = ["/etc/passwd"]; // whatever a caller left there is replaced
        var m = Build(request, new() { OsFamily = "linux", OsVariant = "debian" }, kvm: false).Metadata!;
        Assert.Equal([request.Disks[0].Path, request.SeedPath!], m.Disks);
        Assert.Equal(("linux", "debian"), (m.OsFamily, m.OsVariant));
        Assert.Equal(["/etc/passwd"], request.Metadata.Disks); // the request itself is not modified
    }

    [Fact]
    public void UnknownVariantIsRecordedAsTheImageSaysIt()
    {
        var m = Build(Request("var-1"), new() { OsFamily = "windows", OsVariant = "win2k25" }, kvm: false).Metadata!;
        Assert.Equal(("windows", "win2k25"), (m.OsFamily, m.OsVariant));
    }

    [Fact]
    public void MemoryBelowTheProfileOrImageMinimumIsRefused()
    {
        var e = Fails(() => Build(Request("small-1", memoryMiB: 1024), new() { OsFamily = "windows", OsVariant = "win2k19" }, kvm: false));
        Assert.Equal(("MemoryBelowMinimum", FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.Equal("MemoryBelowMinimum", Fails(() => Build(Request("small-2", memoryMiB: 1024), new() { MinMemoryMiB = 2048 }, kvm: false)).ErrorId);
        Assert.Equal("InvalidVcpuCount", Fails(() => Build(Request("small-3", vcpus: 0), new(), kvm: false)).ErrorId);
    }

    [Fact]
    public void AnArchTheHostCannotRunIsRefused()
    {
        var e = Fails(() => Build(Request("arm-1"), new() { Arch = "aarch64" }, kvm: false));
        Assert.Equal(("UnsupportedArchitecture", FailureKind.ResourceUnavailable), (e.ErrorId, e.Kind));
    }

    [Theory]
    [InlineData("-rf")]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("web\n1")]
    public void HostileInstanceNamesAreRefusedBeforeAnyXml(string name) =>
        Assert.Equal("InvalidInstanceName", Fails(() => Build(Request(name), new(), kvm: false)).ErrorId);

    [Theory]
    [InlineData("/var/lib/x.qcow2;touch /tmp/x")]
    [InlineData("relative.qcow2")]
    [InlineData("/var/lib/../../etc/shadow")]
    [InlineData("/var/lib/$(id).qcow2")]
    public void HostileDiskPathsAreRefused(string path)
    {
        var request = Request("path-1");
        request.Disks = [new(path)];
        Assert.Equal("InvalidHostPath", Fails(() => Build(request, new(), kvm: false)).ErrorId);
    }

    [Theory]
    [InlineData(InterfaceType.Network, "default'/><source network='evil", "InvalidNetworkName")]
    [InlineData(InterfaceType.Bridge, "br0;reboot", "InvalidBridgeName")]
    [InlineData(InterfaceType.Bridge, "a-bridge-name-too-long", "InvalidBridgeName")]
    public void HostileNetworkSourcesAreRefused(InterfaceType type, string source, string errorId)
    {
        var request = Request("net-1");
        request.Nics = [new(type, source)];
        Assert.Equal(errorId, Fails(() => Build(request, new(), kvm: false)).ErrorId);
    }

    [Theory]
    [InlineData("uefi", Firmware.Efi)]
    [InlineData("EFI", Firmware.Efi)]
    [InlineData("bios", Firmware.Bios)]
    public void FirmwareSpellingsParse(string text, Firmware expected) =>
        Assert.Equal(expected, LibvirtEnum.Parse<Firmware>(text, "firmware"));

    [Theory]
    [InlineData("floppy")]
    [InlineData("1")]
    public void UnknownEnumSpellingsNameTheChoices(string text)
    {
        var e = Fails(() => LibvirtEnum.Parse<DiskBus>(text, "disk bus"));
        Assert.Equal(("InvalidDiskBus", FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.Contains("virtio, sata, scsi, ide", e.Message);
    }
}
