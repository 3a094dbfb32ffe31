using System.Buffers.Binary;
using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests;

public class PlacementTests
{
    private static readonly InstanceType Small = new("s", 1, 1024, 10);
    private static readonly HostCapacity[] Hosts =
    [
        new("hv1", 8192, 4, 0, 100, 0),
        new("hv2", 4096, 4, 2, 100, 2),
        new("hv3", 2048, 2, 0, 100, 0),
    ];

    [Fact]
    public void LeastLoadedSpreadsAndCountsTheBatchItself()
    {
        var placed = Placement.Place(Hosts, Small, 6, PlacementStrategy.LeastLoaded);
        Assert.Equal(6, placed.Count);
        // vCPU load per core decides, free memory breaks ties; each pick reserves its share:
        // hv1 1/4, then 2/4 (tie with hv3's 1/2: more memory), then hv3 1/2 beats hv1 3/4, hv1 3/4 beats
        // hv2 3/4 and hv3 2/2 on memory, hv2 3/4, and at 4/4 everywhere the most free memory wins.
        Assert.Equal(["hv1", "hv1", "hv3", "hv1", "hv2", "hv1"], placed);
    }

    [Fact]
    public void RoundRobinCyclesInNameOrder() =>
        Assert.Equal(["hv1", "hv2", "hv3", "hv1", "hv2"], Placement.Place(Hosts, Small, 5, PlacementStrategy.RoundRobin));

    [Fact]
    public void PackFillsTheFullestHostThatFits() =>
        Assert.Equal(["hv3", "hv3", "hv2"], Placement.Place(Hosts, Small, 3, PlacementStrategy.Pack));

    [Fact]
    public void NoRoomIsResourceUnavailable()
    {
        var ex = Assert.Throws<VfException>(() => Placement.Place(Hosts, new InstanceType("big", 1, 9000, 10), 1, PlacementStrategy.LeastLoaded));
        Assert.Equal("InsufficientCapacity", ex.ErrorId);
        Assert.Equal(FailureKind.ResourceUnavailable, ex.Kind);
    }

    /// <summary>A host without room for the type's whole disk is skipped, and each pick reserves its disk.</summary>
    [Fact]
    public void HostsWithoutRoomForTheDiskAreSkipped()
    {
        HostCapacity[] hosts = [new("hv1", 8192, 4, 0, 25, 0), new("hv2", 8192, 4, 0, 5, 0)];
        Assert.Equal(["hv1", "hv1"], Placement.Place(hosts, Small, 2, PlacementStrategy.RoundRobin));
        var ex = Assert.Throws<VfException>(() => Placement.Place(hosts, Small, 3, PlacementStrategy.LeastLoaded));
        Assert.Equal("InsufficientCapacity", ex.ErrorId);
        Assert.Contains("10 GiB of free disk", ex.Message);
    }
}

public class InstanceReaderTests
{
    private const string Xml = """
        <domain type='qemu' id='1'>
          <name>web1</name>
          <uuid>7faaeb72-7e34-452d-ad24-05b267612caf</uuid>
          <metadata><vf:instance xmlns:vf="https://virtfleet.dev/xmlns/instance/1"><vf:id>i-0123abcd</vf:id><vf:image>vflinux</vf:image><vf:os family="linux" variant="busybox"/><vf:tags><vf:tag>web</vf:tag></vf:tags></vf:instance></metadata>
          <memory unit='KiB'>262144</memory><vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          <devices><interface type='network'><mac address='52:54:00:AA:BB:CC'/><source network='vflab'/></interface></devices>
        </domain>
        """;

    [Fact]
    public void ParsesVirshEchoWithoutNewlineAndLeases()
    {
        // virsh's echo ends without a newline, so the state follows the uuid directly.
        var m = new VirtFleet.HostScripts.HostMarkers("0123456789abcdef");
        var output = m["DOMAIN"] + " 7faaeb72-7e34-452d-ad24-05b267612cafrunning\n" + Xml + "\n" +
                     m["DOMAIN"] + " 0b1e2f3a-0000-4000-8000-000000000001shut off\n<domain type='qemu'><name>hand-made</name><uuid>0b1e2f3a-0000-4000-8000-000000000001</uuid><memory>65536</memory><vcpu>1</vcpu></domain>\n" +
                     m["DOMAIN"] + " leases\n[\n{ \"ip-address\": \"192.0.2.5\", \"mac-address\": \"52:54:00:aa:bb:cc\", \"expiry-time\": 1 }\n]\n[]\n";
        var list = InstanceReader.Parse("hv1", output, m);
        Assert.Equal(2, list.Count);
        var web = list.Single(i => i.Name == "web1");
        Assert.Equal(InstanceState.Running, web.State);
        Assert.True(web.IsVirtFleet);
        Assert.Equal("i-0123abcd", web.InstanceId);
        Assert.Equal(["192.0.2.5"], web.Addresses);
        Assert.Equal(["web"], web.Tags);
        var foreign = list.Single(i => i.Name == "hand-made");
        Assert.False(foreign.IsVirtFleet);
        Assert.Equal(InstanceState.Stopped, foreign.State);
    }

    [Fact]
    public void ParsesShellEchoWithNewline()
    {
        var m = new VirtFleet.HostScripts.HostMarkers("0123456789abcdef");
        var list = InstanceReader.Parse("hv1", m["DOMAIN"] + " 7faaeb72-7e34-452d-ad24-05b267612caf\npaused\n" + Xml, m);
        Assert.Equal(InstanceState.Paused, Assert.Single(list).State);
    }
}

public class DiskImageCheckTests
{
    private static string Qcow2(ulong backingOffset = 0, ulong incompatible = 0, uint version = 3)
    {
        var h = new byte[112];
        h[0] = 0x51; h[1] = 0x46; h[2] = 0x49; h[3] = 0xfb;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), version);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), backingOffset);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(24), 1UL << 30);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(72), incompatible);
        var p = Path.GetTempFileName();
        File.WriteAllBytes(p, h);
        return p;
    }

    [Fact]
    public void PlainQcow2PassesWithItsSize() => Assert.Equal(1L << 30, DiskImageCheck.Check(Qcow2()));

    [Fact]
    public void BackingFileIsRefused() => Assert.Equal("Qcow2BackingFile", Assert.Throws<VfException>(() => DiskImageCheck.Check(Qcow2(backingOffset: 112))).ErrorId);

    [Fact]
    public void ExternalDataFileIsRefused() => Assert.Equal("Qcow2ExternalDataFile", Assert.Throws<VfException>(() => DiskImageCheck.Check(Qcow2(incompatible: 4))).ErrorId);

    [Fact]
    public void RawWithQcow2HeaderIsRefused() => Assert.Equal("RawImageWithQcow2Header", Assert.Throws<VfException>(() => DiskImageCheck.Check(Qcow2(), "raw")).ErrorId);

    [Fact]
    public void RealQemuImgOutputPassesAndOverlayIsRefused()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        if (System.Diagnostics.Process.Start("qemu-img", ["create", "-q", "-f", "qcow2", Path.Combine(dir, "base.qcow2"), "64M"]) is not { } p) return;
        p.WaitForExit();
        Assert.Equal(64L << 20, DiskImageCheck.Check(Path.Combine(dir, "base.qcow2")));
        System.Diagnostics.Process.Start("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", Path.Combine(dir, "base.qcow2"), Path.Combine(dir, "over.qcow2")])!.WaitForExit();
        Assert.Throws<VfException>(() => DiskImageCheck.Check(Path.Combine(dir, "over.qcow2")));
    }
}

public class InstanceScriptTests
{
    [Fact]
    public void HostileValuesReachTheHostScriptOnlyQuoted()
    {
        var script = InstanceActions.BuildScript(InstanceAction.Remove, [new InstanceActions.Target("web1", "i-1; touch /tmp/vf-canary")], 60, false).Render("n");
        Assert.Contains("vf_act remove web1 'i-1; touch /tmp/vf-canary' 0\n", script);
        Assert.Throws<VfException>(() => InstanceActions.BuildScript(InstanceAction.Start, [new InstanceActions.Target("a;b", "i-1")], 60, false));
    }

    [Fact]
    public void ActionsReadTheirInstancesBackExceptARemoval()
    {
        Assert.Contains("vf_domains web1\n", InstanceActions.BuildScript(InstanceAction.Stop, [new InstanceActions.Target("web1", "i-1")], 60, false).Render("n"));
        Assert.DoesNotContain("vf_domains web1", InstanceActions.BuildScript(InstanceAction.Remove, [new InstanceActions.Target("web1", "i-1")], 60, false).Render("n"));
    }

    [Fact]
    public void InstanceTypesIncludeEc2Defaults()
    {
        Assert.Equal(1740, InstanceType.Find("m1.small").MemoryMiB);
        Assert.Equal(4, InstanceType.Find("M1.XLARGE").Vcpus);
        Assert.Equal("InstanceTypeNotFound", Assert.Throws<VfException>(() => InstanceType.Find("c5.huge")).ErrorId);
    }
}
