using VirtFleet.Libvirt;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>Parsers of virsh XML, on output captured from real libvirt (tests/Unit/LibvirtSamples).</summary>
public class LibvirtParserTests
{
    [Fact]
    public void DumpxmlOfAForeignDomainHasNoMetadata()
    {
        var info = DomainInfo.Parse(Sample("dumpxml-test-driver.xml"));
        Assert.Equal(("test", "test", 1, 8192L, 2048L, 2), (info.Name, info.Type, info.Id, info.MemoryMiB, info.CurrentMemoryMiB, info.Vcpus));
        Assert.Equal(Guid.Parse("6695eb01-f6a4-8304-79aa-97f2502e193f"), info.Uuid);
        Assert.Equal(new DiskInfo("disk", "file", "/guest/diskimage1", null, "virtio", "vda", false), info.Disks.Single());
        Assert.Equal(new InterfaceInfo("network", "aa:bb:cc:dd:ee:ff", null, "default", "testnet0"), info.Interfaces.Single());
        Assert.False(info.IsVirtFleet);
        Assert.Null(info.OsFamily);
    }

    [Fact]
    public void DumpxmlAfterDefineKeepsOurMetadata()
    {
        var info = DomainInfo.Parse(Sample("dumpxml-virtfleet-windows-uefi.xml"));
        Assert.True(info.IsVirtFleet);
        Assert.Equal(("dc-01", "kvm", null, "efi", "pc-q35-7.2"), (info.Name, info.Type, info.Id, info.Firmware, info.Machine));
        var m = info.Metadata!;
        Assert.Equal(("i-dc-01", "windows", "win2k22", Created), (m.InstanceId, m.OsFamily, m.OsVariant, m.Created));
        Assert.Equal(["/var/lib/libvirt/virtfleet/instances/dc-01/root.qcow2", "/var/lib/libvirt/virtfleet/instances/dc-01/seed.iso"], m.Disks);
        Assert.Equal(["vda", "sda"], info.Disks.Select(d => d.Target));
        Assert.Equal(("virtio", "52:54:00:5f:ea:0a", "default"), (info.Interfaces[0].Model, info.Interfaces[0].Mac, info.Interfaces[0].Source));
    }

    [Fact]
    public void HostileMetadataSurvivesLibvirt()
    {
        var expected = Build(LibvirtXmlTests.HostileRequest(), new() { OsFamily = "linux" }, kvm: false);
        var info = DomainInfo.Parse(Sample("dumpxml-virtfleet-hostile.xml"));
        Assert.Equal(expected.Metadata!.Tags, info.Metadata!.Tags);
        Assert.Equal(expected.Metadata.KeyPair, info.Metadata.KeyPair);
        Assert.Equal(expected.Title, info.Title);
        Assert.Single(info.Disks, d => d.Device == "cdrom");
    }

    [Fact]
    public void DumpxmlOfARunningDomain()
    {
        var info = DomainInfo.Parse(Sample("dumpxml-running-tcg.xml"));
        Assert.Equal(("web-1", "qemu", 1, "Web server 1"), (info.Name, info.Type, info.Id, info.Title));
        Assert.Equal(new GraphicsInfo("vnc", 5900, true, "127.0.0.1"), info.Graphics.Single());
        Assert.Equal(["/tmp/vft/root.qcow2", "/tmp/vft/data.qcow2", "/tmp/vft/seed.iso"], info.Disks.Select(d => d.Path));
        Assert.Equal(("cdrom", "sata", true), (info.Disks[2].Device, info.Disks[2].Bus, info.Disks[2].ReadOnly));
        // The data disk was not VirtFleet's: metadata lists only the root disk and the seed.
        Assert.Equal(["/tmp/vft/root.qcow2", "/tmp/vft/seed.iso"], info.Metadata!.Disks);
    }

    [Theory]
    [InlineData("<memory unit='GiB'>2</memory>", 2048)]
    [InlineData("<memory unit='MiB'>512</memory>", 512)]
    [InlineData("<memory>1048576</memory>", 1024)]
    [InlineData("<memory unit='bytes'>1073741824</memory>", 1024)]
    public void MemoryUnitsAreScaled(string memory, long mib) =>
        Assert.Equal(mib, DomainInfo.Parse($"<domain type='kvm'><name>m</name>{memory}</domain>").MemoryMiB);

    [Fact]
    public void CapabilitiesOfATcgOnlyHost()
    {
        var caps = HostCapabilities.Parse(Sample("capabilities-qemu-tcg.xml"));
        Assert.Equal(("x86_64", "kvm64", "AMD", 2), (caps.Arch, caps.CpuModel, caps.CpuVendor, caps.CpuCount));
        Assert.Equal(5728460 / 1024, caps.MemoryMiB);
        Assert.Contains("avx2", caps.CpuFeatures);
        Assert.False(caps.HasHardwareVirtualization);
        var x86 = caps.FindGuest("x86_64")!;
        Assert.Equal("/usr/bin/qemu-system-x86_64", x86.Emulator);
        Assert.Equal(["qemu", "kvm"], x86.DomainTypes);
        Assert.True(x86.HasMachine("q35") && x86.HasMachine("pc-q35-7.2") && x86.HasMachine("pc"));
        Assert.Equal("pc-q35-7.2", x86.Machines.Single(m => m.Name == "q35").Canonical);
        Assert.Equal(DomainType.Qemu, DomainBuilder.ChooseDomainType(caps, kvmDeviceUsable: true, "x86_64"));
    }

    [Theory]
    [InlineData("svm", true, DomainType.Kvm)]
    [InlineData("vmx", true, DomainType.Kvm)]
    [InlineData("vmx", false, DomainType.Qemu)]
    [InlineData("vme", true, DomainType.Qemu)]
    public void KvmNeedsVmxOrSvmAndAUsableKvmDevice(string feature, bool kvmDevice, DomainType expected)
    {
        var caps = HostCapabilities.Parse(Sample("capabilities-qemu-tcg.xml").Replace("<feature name='vme'/>", $"<feature name='{feature}'/>"));
        Assert.Equal(feature is "vmx" or "svm", caps.HasHardwareVirtualization);
        Assert.Equal(expected, DomainBuilder.ChooseDomainType(caps, kvmDevice, "x86_64"));
    }

    [Fact]
    public void CapabilitiesOfTheTestDriver()
    {
        var caps = HostCapabilities.Parse(Sample("capabilities-test-driver.xml"));
        Assert.Equal(("i686", 16), (caps.Arch, caps.CpuCount));
        Assert.Equal(6144, caps.MemoryMiB);
        Assert.Contains("pae", caps.CpuFeatures); // bare <pae/> under <features>
        Assert.Equal(["hvm", "xen"], caps.Guests.Select(g => g.OsType));
        Assert.Null(caps.FindGuest("x86_64"));
    }

    [Fact]
    public void DomainCapabilitiesOfQemuTcg()
    {
        var dc = DomainCapabilities.Parse(Sample("domcapabilities-qemu-q35.xml"));
        Assert.Equal(("qemu", "pc-q35-7.2", "x86_64", 288), (dc.DomainType, dc.Machine, dc.Arch, dc.MaxVcpus));
        Assert.True(dc.SupportsEfi);
        Assert.Contains("/usr/share/OVMF/OVMF_CODE_4M.fd", dc.Loaders);
        Assert.Contains("maximum", dc.CpuModes);
        Assert.DoesNotContain("host-passthrough", dc.CpuModes);
        Assert.Contains("sata", dc.DiskBuses);
        Assert.Contains("qxl", dc.VideoModels);
        Assert.Equal(["spinlocks", "vendor_id"], dc.HyperVFeatures);
    }

    [Fact]
    public void NetworkWithNatDhcpRangeAndHosts()
    {
        var net = NetworkInfo.Parse(Sample("net-dumpxml-nat-dhcp-hosts.xml"));
        Assert.Equal(("vf-lab", "vfbr0", "nat"), (net.Name, net.Bridge, net.ForwardMode));
        var v4 = net.Ips[0];
        Assert.Equal(("ipv4", "10.77.0.1", 24), (v4.Family, v4.Address, v4.Prefix));
        Assert.Equal(new DhcpRange("10.77.0.100", "10.77.0.199"), v4.DhcpRanges.Single());
        Assert.Equal(new DhcpHost("52:54:00:12:34:56", "web-1", "10.77.0.10"), v4.DhcpHosts[0]);
        Assert.Equal(2, v4.DhcpHosts.Count);
        Assert.Equal(("ipv6", "fd00:77::1", 64), (net.Ips[1].Family, net.Ips[1].Address, net.Ips[1].Prefix));
    }

    [Fact]
    public void DefaultNetworkPrefixComesFromNetmask()
    {
        var net = NetworkInfo.Parse(Sample("net-dumpxml-default.xml"));
        Assert.Equal(("default", "virbr0", "nat", 24), (net.Name, net.Bridge, net.ForwardMode, net.Ips.Single().Prefix));
        Assert.Equal(new DhcpRange("192.168.122.2", "192.168.122.254"), net.Ips.Single().DhcpRanges.Single());
    }

    [Fact]
    public void IsolatedNetworkHasNoForwardMode()
    {
        var net = NetworkInfo.Parse(Sample("net-dumpxml-isolated.xml"));
        Assert.Null(net.ForwardMode);
        Assert.Equal(("172.30.5.1", 24), (net.Ips.Single().Address, net.Ips.Single().Prefix));
        Assert.Empty(net.Ips.Single().DhcpRanges);
    }

    [Theory]
    [InlineData("not xml", "InvalidVirshXml")]
    [InlineData("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>", "InvalidVirshXml")]
    [InlineData("<network><name>n</name></network>", "UnexpectedVirshXml")]
    public void BadXmlIsInvalidData(string xml, string errorId)
    {
        var e = Assert.Throws<VfException>(() => DomainInfo.Parse(xml));
        Assert.Equal((errorId, FailureKind.InvalidData), (e.ErrorId, e.Kind));
    }
}
