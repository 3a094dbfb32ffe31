using System.Xml.Linq;
using VirtFleet.Libvirt;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>Domain XML content: what Windows and Linux guests get, and hostile values staying text.</summary>
public class LibvirtXmlTests
{
    internal const string Hostile = "<x a='1'>&amp; \"q\" ]]> </vf:tag><vf:tag>evil</vf:tag>\n a;touch /tmp/x $(id) `id` \r\n<!-- -->";

    internal static InstanceRequest HostileRequest()
    {
        var request = Request("hostile-1", memoryMiB: 1024);
        request.Title = "Title <b>&amp;</b> ]]> $(id) a;touch /tmp/x";
        request.Description = Hostile;
        var m = request.Metadata;
        m.Image = m.InstanceType = m.KeyPair = Hostile;
        m.Networks = [Hostile];
        m.SecurityGroups = [Hostile, "web"];
        m.Tags = [Hostile, "</vf:tags></vf:instance></metadata><devices><disk/></devices>", "owner=o'brien"];
        return request;
    }

    static XElement Xml(Domain domain) => XElement.Parse(domain.ToXmlString());

    static XElement Windows2008() => Xml(Build(Request("win-1"), new() { OsFamily = "windows", OsVariant = "win2k8r2" }, kvm: true));

    [Fact]
    public void WindowsGetsHyperVEnlightenmentsAndLocaltimeClock()
    {
        var xml = Xml(Build(Request("win-2"), new() { OsFamily = "windows", OsVariant = "win2k19" }, kvm: true));
        var hyperv = xml.Element("features")!.Element("hyperv")!;
        Assert.Equal(["relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "reset", "frequencies", "tlbflush", "ipi"],
            hyperv.Elements().Select(e => e.Name.LocalName));
        Assert.All(hyperv.Elements(), e => Assert.Equal("on", (string?)e.Attribute("state")));
        Assert.Equal("8191", (string?)hyperv.Element("spinlocks")!.Attribute("retries"));
        Assert.NotNull(xml.Element("features")!.Element("pae"));

        var clock = xml.Element("clock")!;
        Assert.Equal("localtime", (string?)clock.Attribute("offset"));
        Assert.Contains(clock.Elements("timer"), t => (string?)t.Attribute("name") == "hypervclock" && (string?)t.Attribute("present") == "yes");
        Assert.Contains(clock.Elements("timer"), t => (string?)t.Attribute("name") == "rtc" && (string?)t.Attribute("tickpolicy") == "catchup");
    }

    [Fact]
    public void Windows2008R2KeepsTheFirstEnlightenmentsOnly()
    {
        var hyperv = Windows2008().Element("features")!.Element("hyperv")!;
        Assert.Equal(["relaxed", "vapic", "spinlocks"], hyperv.Elements().Select(e => e.Name.LocalName));
    }

    [Fact]
    public void WindowsWithoutVirtioDriversGetsSataDiskE1000NicTabletAndVnc()
    {
        var info = DomainInfo.Parse(Windows2008().ToString());
        var root = info.Disks[0];
        Assert.Equal(("disk", "sata", "sda", "qcow2"), (root.Device, root.Bus, root.Target, root.Format));
        var seed = info.Disks[1];
        Assert.Equal(("cdrom", "sata", "sdb", true), (seed.Device, seed.Bus, seed.Target, seed.ReadOnly));
        Assert.Equal("e1000", info.Interfaces.Single().Model);
        Assert.Equal(("vnc", "127.0.0.1", true), (info.Graphics.Single().Type, info.Graphics.Single().Listen, info.Graphics.Single().Autoport));
        var devices = Windows2008().Element("devices")!;
        Assert.Contains(devices.Elements("input"), i => (string?)i.Attribute("type") == "tablet" && (string?)i.Attribute("bus") == "usb");
        Assert.Equal("windows", info.OsFamily);
    }

    [Fact]
    public void WindowsWithVirtioDriversGetsVirtioDiskAndNic()
    {
        var info = DomainInfo.Parse(Build(Request("win-3"), new() { OsFamily = "windows", OsVariant = "win2k22", VirtioDrivers = true }, kvm: true).ToXmlString());
        Assert.Equal(("virtio", "vda"), (info.Disks[0].Bus, info.Disks[0].Target));
        Assert.Equal(("sata", "sda"), (info.Disks[1].Bus, info.Disks[1].Target)); // the seed stays a SATA cdrom
        Assert.Equal("virtio", info.Interfaces.Single().Model);
    }

    [Fact]
    public void LinuxGetsVirtioSerialConsoleAndRng()
    {
        var xml = Xml(Build(Request("web-2"), new() { OsFamily = "linux", OsVariant = "debian" }, kvm: true));
        var devices = xml.Element("devices")!;
        var info = DomainInfo.FromXml(xml);
        Assert.Equal(("virtio", "vda"), (info.Disks[0].Bus, info.Disks[0].Target));
        Assert.Equal("virtio", info.Interfaces.Single().Model);
        Assert.Equal("pty", (string?)devices.Element("serial")!.Attribute("type"));
        Assert.Equal("serial", (string?)devices.Element("console")!.Element("target")!.Attribute("type"));
        Assert.Equal("virtio", (string?)devices.Element("rng")!.Attribute("model"));
        Assert.Equal("utc", (string?)xml.Element("clock")!.Attribute("offset"));
        Assert.Null(xml.Element("features")!.Element("hyperv"));
    }

    [Fact]
    public void KernelBootWritesKernelInitrdCmdlineAndNoBootDevice()
    {
        var os = Xml(Build(Request("tiny-2", 128, 1), new()
        {
            OsFamily = "linux", OsVariant = "busybox", Kernel = "/images/vmlinuz", Initrd = "/images/initrd", Cmdline = "console=ttyS0",
        }, kvm: false)).Element("os")!;
        Assert.Equal(["type", "kernel", "initrd", "cmdline"], os.Elements().Select(e => e.Name.LocalName));
        Assert.Equal("console=ttyS0", os.Element("cmdline")!.Value);
    }

    [Fact]
    public void ElementsFollowLibvirtsOrder()
    {
        var xml = Xml(Build(Request("order-1"), new() { OsFamily = "windows", Firmware = Firmware.Efi }, kvm: true));
        Assert.Equal(["name", "uuid", "metadata", "memory", "currentMemory", "vcpu", "os", "features", "cpu", "clock",
            "on_poweroff", "on_reboot", "on_crash", "devices"], xml.Elements().Select(e => e.Name.LocalName));
        Assert.Equal(["disk", "disk", "controller", "interface", "serial", "console", "input", "graphics", "video", "memballoon"],
            xml.Element("devices")!.Elements().Select(e => e.Name.LocalName));
    }

    [Fact]
    public void HostileValuesStayTextAndCreateNoElements()
    {
        var hostile = Build(HostileRequest(), new() { OsFamily = "linux" }, kvm: false);
        var benign = Build(HostileRequest(), new() { OsFamily = "linux" }, kvm: false);
        benign.Title = benign.Description = "plain";
        var m = benign.Metadata!;
        m.Image = m.InstanceType = m.KeyPair = "plain";
        m.Networks = ["plain"];
        m.SecurityGroups = ["plain", "web"];
        m.Tags = ["plain", "plain", "plain"];

        var text = hostile.ToXmlString();
        var parsed = XElement.Parse(text);
        Assert.Equal(XElement.Parse(benign.ToXmlString()).DescendantsAndSelf().Count(), parsed.DescendantsAndSelf().Count());
        Assert.DoesNotContain("<x a=", text);
        Assert.DoesNotContain("]]>", text);

        var info = DomainInfo.Parse(text);
        Assert.Equal(Hostile, info.Description);
        Assert.Equal(hostile.Title, info.Title);
        var back = info.Metadata!;
        Assert.Equal(hostile.Metadata!.Tags, back.Tags);
        Assert.Equal(hostile.Metadata.SecurityGroups, back.SecurityGroups);
        Assert.Equal((Hostile, Hostile, Hostile), (back.Image, back.InstanceType, back.KeyPair));
        Assert.Equal([Hostile], back.Networks);
    }

    [Fact]
    public void MetadataRoundTrips()
    {
        var domain = Build(Request("meta-1"), new() { OsFamily = "windows", OsVariant = "win10" }, kvm: false);
        var back = DomainInfo.Parse(domain.ToXmlString()).Metadata!;
        var m = domain.Metadata!;
        Assert.Equal((m.InstanceId, m.Image, m.OsFamily, m.OsVariant, m.InstanceType, m.KeyPair, m.Created),
            (back.InstanceId, back.Image, back.OsFamily, back.OsVariant, back.InstanceType, back.KeyPair, back.Created));
        Assert.Equal(m.Networks, back.Networks);
        Assert.Equal(m.SecurityGroups, back.SecurityGroups);
        Assert.Equal(m.Tags, back.Tags);
        Assert.Equal(m.Disks, back.Disks);
        Assert.Equal(Created, back.Created);
        Assert.Equal(DateTimeKind.Utc, back.Created!.Value.Kind);
    }

    [Fact]
    public void MetadataUsesVirtFleetNamespaceAndPrefix()
    {
        var instance = Xml(Build(Request("ns-1"), new(), kvm: false)).Element("metadata")!.Elements().Single();
        Assert.Equal(VfMetadata.Ns + "instance", instance.Name);
        Assert.Equal("vf", instance.GetPrefixOfNamespace(VfMetadata.Ns));
        Assert.Equal("2025-01-02T03:04:05Z", instance.Element(VfMetadata.Ns + "created")!.Value);
    }

    [Theory]
    [InlineData("line\none")]
    [InlineData("cr\rhere")]
    public void TitleMustBeOneLine(string title)
    {
        var domain = Build(Request("title-1"), new(), kvm: false);
        domain.Title = title;
        Assert.Equal("InvalidDomainTitle", Assert.Throws<VfException>(() => domain.ToXmlString()).ErrorId);
    }

    [Fact]
    public void CharactersXmlCannotCarryAreAnInvalidArgument()
    {
        var domain = Build(Request("ctl-1"), new(), kvm: false);
        domain.Description = "bell\u0007";
        var e = Assert.Throws<VfException>(() => domain.ToXmlString());
        Assert.Equal(("InvalidXmlCharacter", FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
    }

    [Fact]
    public void ModelRevalidatesTheName()
    {
        var domain = Build(Request("ok-1"), new(), kvm: false);
        domain.Name = "x</name><devices/>";
        Assert.Equal("InvalidInstanceName", Assert.Throws<VfException>(() => domain.ToXmlString()).ErrorId);
    }

    [Theory]
    [InlineData(0, "vda")]
    [InlineData(25, "vdz")]
    [InlineData(26, "vdaa")]
    [InlineData(701, "vdzz")]
    [InlineData(702, "vdaaa")]
    public void TargetNamesFollowLibvirtsScheme(int index, string name) => Assert.Equal(name, DiskTargets.Name("vd", index));

    [Fact]
    public void TargetsCountPerPrefixAndSkipExplicitNames()
    {
        var disks = new List<DomainDisk>
        {
            new() { Bus = DiskBus.Virtio }, new() { Bus = DiskBus.Sata, Target = "sda" }, new() { Bus = DiskBus.Scsi },
            new() { Bus = DiskBus.Virtio }, new() { Bus = DiskBus.Ide }, new() { Bus = DiskBus.Sata },
        };
        Assert.Equal(["vda", "sda", "sdb", "vdb", "hda", "sdc"], DiskTargets.Assign(disks));
    }
}
