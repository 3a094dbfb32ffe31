using System.Diagnostics;
using System.Reflection;
using VirtFleet.Migration;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Issue 15's pure logic: the rebalance planner, the move pre-checks, the parsers and the host scripts' syntax.</summary>
public sealed class RebalancePlannerTests
{
    private static RebalanceHost H(string name, int cpus = 2, long mem = 8192, long free = 8192, bool maintenance = false) => new(name, mem, free, cpus, maintenance);
    private static RebalanceInstance I(string name, string host, long mem = 256, int vcpus = 1, bool running = true, string? spread = null, bool movable = true) =>
        new(name, host, mem, vcpus, running, spread, movable, movable ? null : "not VirtFleet's");

    private static Dictionary<string, int> Counts(RebalanceRequest r, RebalancePlan p)
    {
        var where = r.Instances.ToDictionary(i => i.Name, i => i.Host);
        foreach (var m in p.Moves) where[m.Instance] = m.To;
        return r.Hosts.ToDictionary(h => h.Name, h => where.Values.Count(v => v == h.Name));
    }

    /// <summary>The fleet after the plan, as a fresh read would see it (free memory follows the running instances).</summary>
    private static RebalanceRequest Apply(RebalanceRequest r, RebalancePlan p)
    {
        var to = p.Moves.ToDictionary(m => m.Instance, m => m.To);
        var moved = r.Instances.Where(i => to.ContainsKey(i.Name) && i.Running).ToList();
        return r with
        {
            Instances = r.Instances.Select(i => to.TryGetValue(i.Name, out var t) ? i with { Host = t } : i).ToList(),
            Hosts = r.Hosts.Select(h => h with { FreeMemoryMiB = h.FreeMemoryMiB + moved.Where(i => i.Host == h.Name).Sum(i => i.MemoryMiB) - moved.Where(i => to[i.Name] == h.Name).Sum(i => i.MemoryMiB) }).ToList(),
        };
    }

    [Fact]
    public void SixOnOneOfThreeAreEvenedOutInFourMovesAndASecondRunPlansNothing()
    {
        var r = new RebalanceRequest([H("a"), H("b"), H("c")], Enumerable.Range(1, 6).Select(n => I($"i{n}", "a")).ToList());
        var plan = RebalancePlanner.Plan(r);
        Assert.Equal(4, plan.Moves.Count);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 2, ["b"] = 2, ["c"] = 2 }, Counts(r, plan));
        Assert.All(plan.Moves, m => Assert.Equal("a", m.From));
        Assert.All(plan.Moves, m => Assert.True(m.ToLoadAfter < m.FromLoadBefore, m.ToString()));
        Assert.Equal(plan.Moves.Count, plan.Moves.Select(m => m.Instance).Distinct().Count());
        Assert.True(plan.SpreadAfter < plan.SpreadBefore);
        Assert.Empty(RebalancePlanner.Plan(Apply(r, plan)).Moves);
    }

    [Fact]
    public void ABalancedFleetPlansNothing()
    {
        var r = new RebalanceRequest([H("a"), H("b")], [I("x", "a"), I("y", "b"), I("z", "a", running: false)]);
        Assert.Empty(RebalancePlanner.Plan(r).Moves);
        // One more than the other is as even as two equal instances get: moving would only swap the hosts.
        Assert.Empty(RebalancePlanner.Plan(new RebalanceRequest([H("a"), H("b")], [I("x", "a"), I("y", "a"), I("z", "b")])).Moves);
    }

    [Fact]
    public void MaintenanceHostsNeverReceiveButGive()
    {
        var r = new RebalanceRequest([H("a"), H("b"), H("c", maintenance: true)], Enumerable.Range(1, 4).Select(n => I($"i{n}", "a")).ToList());
        var plan = RebalancePlanner.Plan(r);
        Assert.DoesNotContain(plan.Moves, m => m.To == "c");
        Assert.Equal(new Dictionary<string, int> { ["a"] = 2, ["b"] = 2, ["c"] = 0 }, Counts(r, plan));
    }

    [Fact]
    public void NoMoveOverloadsItsTargetOrRunsOutOfMemory()
    {
        // b has room for one more instance only (256 + 128 headroom of 400 free).
        var r = new RebalanceRequest([H("a"), H("b", free: 400)], Enumerable.Range(1, 4).Select(n => I($"i{n}", "a")).ToList());
        var plan = RebalancePlanner.Plan(r);
        Assert.Single(plan.Moves);
        // A big instance never goes where it would weigh more than what it left.
        var big = new RebalanceRequest([H("a"), H("b")], [I("big", "a", mem: 4096, vcpus: 2), I("small", "b")]);
        Assert.Empty(RebalancePlanner.Plan(big).Moves);
    }

    [Fact]
    public void SpreadGroupMembersNeverShareAHost()
    {
        var r = new RebalanceRequest([H("a"), H("b"), H("c")],
            [I("w1", "a", spread: "web"), I("w2", "a", spread: "web"), I("x1", "a"), I("x2", "a"), I("w3", "b", spread: "web")]);
        var plan = RebalancePlanner.Plan(r);
        var where = r.Instances.ToDictionary(i => i.Name, i => i.Host);
        foreach (var m in plan.Moves) where[m.Instance] = m.To;
        var web = new[] { "w1", "w2", "w3" }.Select(n => where[n]).ToList();
        Assert.Equal(web.Count, web.Distinct().Count());
    }

    [Fact]
    public void RandomFleetsNeverGetWorseNothingMovesTwiceAndEqualInstancesConverge()
    {
        var rnd = new Random(15);
        for (var round = 0; round < 200; round++)
        {
            var hosts = Enumerable.Range(0, rnd.Next(2, 6)).Select(h => H($"h{h}", cpus: rnd.Next(1, 9), mem: 16384, free: rnd.Next(512, 16384))).ToList();
            var equal = round % 2 == 0;
            var instances = Enumerable.Range(0, rnd.Next(0, 20)).Select(n => I($"i{n}", hosts[rnd.Next(hosts.Count)].Name, mem: equal ? 256 : 128 * rnd.Next(1, 9), vcpus: equal ? 1 : rnd.Next(1, 4),
                running: rnd.Next(5) > 0, spread: rnd.Next(4) == 0 ? "g" : null, movable: rnd.Next(10) > 0)).ToList();
            var r = new RebalanceRequest(hosts, instances);
            var plan = RebalancePlanner.Plan(r);
            Assert.Equal(plan.Moves.Count, plan.Moves.Select(m => m.Instance).Distinct().Count());
            Assert.All(plan.Moves, m => Assert.True(instances.Single(i => i.Name == m.Instance).Movable));
            Assert.All(plan.Moves, m => Assert.True(m.ToLoadAfter < m.FromLoadBefore + 1e-6, m.ToString()));
            // Spread group members that did not share a host before do not after.
            var where = instances.ToDictionary(i => i.Name, i => i.Host);
            var sharedBefore = instances.Where(i => i.SpreadGroup is not null).GroupBy(i => i.Host).Any(g => g.Count() > 1);
            foreach (var m in plan.Moves) where[m.Instance] = m.To;
            if (!sharedBefore) Assert.DoesNotContain(instances.Where(i => i.SpreadGroup is not null).GroupBy(i => where[i.Name]), g => g.Count() > 1);
            // The imbalance never grows.
            double Imb(IReadOnlyDictionary<string, double> l) { var m = l.Values.Average(); return l.Values.Sum(v => (v - m) * (v - m)); }
            Assert.True(Imb(plan.LoadAfter) <= Imb(plan.LoadBefore) + 1e-6);
            // Equal instances on equal hosts: a second run on the result plans nothing.
            if (equal && hosts.All(h => h.Cpus == hosts[0].Cpus && h.FreeMemoryMiB >= 8192))
                Assert.Empty(RebalancePlanner.Plan(Apply(r, plan)).Moves);
        }
    }

    [Fact]
    public void DrainEmptiesAHostAndSaysWhatCannotMove()
    {
        var r = new RebalanceRequest([H("a"), H("b"), H("c")],
            [I("x1", "a"), I("x2", "a", running: false), I("x3", "a", spread: "s"), I("s2", "b", spread: "s"), I("s3", "c", spread: "s"), I("foreign", "a", movable: false)],
            Drain: ["a"]);
        var plan = RebalancePlanner.Plan(r);
        Assert.Equal(["x1", "x2"], plan.Moves.Select(m => m.Instance).Order());
        Assert.Equal(MigrationMode.Offline, plan.Moves.Single(m => m.Instance == "x2").Mode);
        Assert.All(plan.Moves, m => Assert.Equal("a", m.From));
        Assert.Contains(plan.LeftOver, l => l.Instance == "x3" && l.Reason.Contains("spread group s"));
        Assert.Contains(plan.LeftOver, l => l.Instance == "foreign" && l.Reason == "not VirtFleet's");
    }

    [Fact]
    public void DrainToMaintenanceOnlyFleetLeavesEverything()
    {
        var r = new RebalanceRequest([H("a"), H("b", maintenance: true)], [I("x", "a")], Drain: ["a"]);
        var plan = RebalancePlanner.Plan(r);
        Assert.Empty(plan.Moves);
        Assert.Equal("every other host is in maintenance", Assert.Single(plan.LeftOver).Reason);
    }
}

public sealed class MigrationCheckTests
{
    [Theory]
    [InlineData("198.51.100.13", "tcp://198.51.100.13")]
    [InlineData("2001:db8::13", "tcp://[2001:db8::13]")]
    [InlineData("vfh3.example", "tcp://vfh3.example")]
    public void ALiveMoveSendsToTheDestinationsAddress(string address, string uri) => Assert.Equal(uri, MoveOperation.MigrateUri(address));

    private const string Xml = """
        <domain type='qemu'><name>web1</name><uuid>6f1b2c3d-1111-2222-3333-444455556666</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
        <metadata><vf:instance xmlns:vf="https://virtfleet.dev/xmlns/instance/1"><vf:id>i-0a1b2c3d</vf:id><vf:image>vflinux</vf:image><vf:spread>web</vf:spread>
        <vf:disks><vf:disk>/var/lib/libvirt/virtfleet/instances/web1/root.qcow2</vf:disk><vf:disk>/var/lib/libvirt/virtfleet/instances/web1/seed.iso</vf:disk></vf:disks></vf:instance></metadata>
        <devices><disk type='file' device='disk'><source file='/var/lib/libvirt/virtfleet/instances/web1/root.qcow2'/><target dev='vda'/></disk>
        <disk type='file' device='cdrom'><source file='/var/lib/libvirt/virtfleet/instances/web1/seed.iso'/><target dev='sda'/><readonly/></disk>
        <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='net1'/><target dev='vnet3'/></interface></devices></domain>
        """;

    private static string SourceOutput(string state = "running") => $"""
        @@VF-STATE@@
        {state}
        @@VF-PERSISTENT@@
        yes
        @@VF-XML@@
        {Xml}
        @@VF-MIGXML@@
        {Xml}
        @@VF-DISK@@ /var/lib/libvirt/virtfleet/instances/web1/root.qcow2
        {"{"}"virtual-size": 1073741824, "filename": "root.qcow2", "format": "qcow2", "actual-size": 2097152, "backing-filename": "/var/lib/libvirt/virtfleet/images/vflinux/v-1/disk.qcow2", "backing-filename-format": "qcow2"{"}"}
        @@VF-DISK@@ /var/lib/libvirt/virtfleet/instances/web1/seed.iso
        {"{"}"virtual-size": 374784, "filename": "seed.iso", "format": "raw", "actual-size": 376832{"}"}
        @@VF-END@@
        """;

    private static DestinationView Dest(long freeMiB = 4096, string cpu = "no-cpu", string? nameHolder = null, bool backing = true) => new()
    {
        Facts = new HostFacts { Name = "hv2", LibvirtRunning = true, MemoryFreeMiB = freeMiB, CpuCount = 2, StoreFreeGiB = 20, IptablesAvailable = true, OutsideInterface = "eth0", StorePath = "/var/lib/libvirt/virtfleet" },
        NameHolder = nameHolder, CpuCompare = cpu, HasSshHelper = true, ActiveNetworks = ["net1"],
        Backings = new Dictionary<string, bool> { ["/var/lib/libvirt/virtfleet/images/vflinux/v-1/disk.qcow2"] = backing },
    };

    [Fact]
    public void SourceReadIsParsed()
    {
        var src = SourceInstance.Parse("hv1", SourceOutput());
        Assert.Equal(("running", true, "i-0a1b2c3d", "web1"), (src.State, src.Persistent, src.InstanceId, src.Domain.Name));
        Assert.Equal(2, src.Disks.Count);
        Assert.Equal(("/var/lib/libvirt/virtfleet/images/vflinux/v-1/disk.qcow2", false), (src.Disks[0].Backing, src.Disks[0].ReadOnly));
        Assert.True(src.Disks[1].ReadOnly);
        Assert.Equal("web", src.Domain.Metadata!.SpreadGroup);
    }

    [Fact]
    public void EveryCheckPassesForAFittingDestination()
    {
        var checks = MigrationChecks.Evaluate(SourceInstance.Parse("hv1", SourceOutput()), Dest(), MigrationMode.Live, null);
        Assert.All(checks, c => Assert.True(c.Status == MigrationCheckStatus.Passed, c.ToString()));
        Assert.Contains(checks, c => c.Check == "Memory");
        Assert.Contains(checks, c => c.Check == "Cpu");
        Assert.Contains(checks, c => c.Check == "SpreadGroup");
    }

    [Theory]
    [InlineData("Memory", 200L, "no-cpu", null, true, "running", false)]
    [InlineData("Cpu", 4096L, "CPU described in /tmp/x is incompatible with the CPU provided by hypervisor on the host", null, true, "running", false)]
    [InlineData("NameFree", 4096L, "no-cpu", "6f1b2c3d-0000-0000-0000-000000000000", true, "running", false)]
    [InlineData("Image", 4096L, "no-cpu", null, false, "running", false)]
    [InlineData("State", 4096L, "no-cpu", null, true, "paused", false)]
    [InlineData("State", 4096L, "no-cpu", null, true, "running", true)]
    [InlineData("Maintenance", 4096L, "no-cpu", null, true, "running", false, true)]
    public void EachRefusalIsItsOwnFailedCheck(string check, long free, string cpu, string? holder, bool backing, string state, bool offline, bool maintenance = false)
    {
        var checks = MigrationChecks.Evaluate(SourceInstance.Parse("hv1", SourceOutput(state)), Dest(free, cpu, holder, backing),
            offline ? MigrationMode.Offline : MigrationMode.Live, null, destinationInMaintenance: maintenance);
        var failed = checks.Where(c => c.Status == MigrationCheckStatus.Failed).ToList();
        Assert.Equal(check, Assert.Single(failed).Check);
    }

    [Fact]
    public void ASpreadPeerOnTheDestinationFails()
    {
        var checks = MigrationChecks.Evaluate(SourceInstance.Parse("hv1", SourceOutput()), Dest(), MigrationMode.Live, null, ["web2"]);
        Assert.Equal("SpreadGroup", Assert.Single(checks, c => !c.Passed).Check);
    }

    [Fact]
    public void DestinationTapsAreNamedInAdvance()
    {
        var src = SourceInstance.Parse("hv1", SourceOutput());
        var (xml, domain) = MoveOperation.DestinationXml(src, src.Xml);
        Assert.Contains("vft0a1b2c3d0", xml);
        Assert.Equal("vft0a1b2c3d0", Assert.Single(domain.Interfaces).TargetDev);
        Assert.Throws<VfException>(() => MoveNetworking.TapName("i-;rm", 0));
    }

    [Fact]
    public void HostScriptsAreValidShell()
    {
        var scripts = typeof(MigrationChecks).Assembly.GetType("VirtFleet.Migration.MigrationScripts")!
            .GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)).ToList();
        Assert.True(scripts.Count >= 12);
        foreach (var f in scripts)
        {
            var text = (string)f.GetRawConstantValue()!;
            var psi = new ProcessStartInfo("sh", ["-n"]) { RedirectStandardInput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            p.StandardInput.Write(text);
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{f.Name}: {err}");
        }
    }
}

public sealed class SpreadPlacementTests
{
    private static readonly IReadOnlyList<VirtFleet.Instances.HostCapacity> Hosts =
        new[] { "a", "b", "c" }.Select(h => new VirtFleet.Instances.HostCapacity(h, 8192, 4, 0, 100, 0)).ToList();

    [Fact]
    public void MembersOfASpreadGroupGoToDifferentHosts()
    {
        var placed = VirtFleet.Instances.Placement.Place(Hosts, InstanceType.Find("t1.micro"), 2, VirtFleet.Instances.PlacementStrategy.Pack, "web", ["a"]);
        Assert.Equal(["b", "c"], placed.Order());
        // Without a group, Pack puts both on one host.
        Assert.Single(VirtFleet.Instances.Placement.Place(Hosts, InstanceType.Find("t1.micro"), 2, VirtFleet.Instances.PlacementStrategy.Pack).Distinct());
    }

    [Fact]
    public void AFleetThatCannotHonourItSaysSo()
    {
        var e = Assert.Throws<VfException>(() => VirtFleet.Instances.Placement.Place(Hosts, InstanceType.Find("t1.micro"), 3, VirtFleet.Instances.PlacementStrategy.LeastLoaded, "web", ["b"]));
        Assert.Equal("SpreadGroupUnsatisfiable", e.ErrorId);
        Assert.Contains("spread group web", e.Message, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The destination read of a move's pre-checks, against the host scripts' fake host.</summary>
public sealed class DestinationReadTests
{
    [Fact]
    public async Task TheCpuIsComparedForTheHypervisorTheDomainRunsOn()
    {
        // libvirt compares for KVM by default wherever /dev/kvm exists; a TCG (type qemu) guest's CPU is not KVM's.
        using var host = new FakeHost("dst");
        const string Xml = "<domain type='qemu'><name>web-1</name><os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>"
                           + "<cpu mode='custom' match='exact'><model>qemu64</model></cpu>"
                           + "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>";
        var src = new SourceInstance
        {
            Host = "src", Domain = new Libvirt.DomainInfo { Name = "web-1", Uuid = Guid.NewGuid(), Type = "qemu" }, State = "running",
            Xml = Xml, MigratableXml = Xml,
        };
        try { await MoveOperation.ReadDestinationAsync(host, src, 0, CancellationToken.None); }
        catch (VfException) { /* the fake host's probe answers little; the call made is what counts */ }
        Assert.Contains(host.Calls, c => c.Contains("hypervisor-cpu-compare --error --virttype qemu --arch x86_64 --machine pc-i440fx-7.2 --emulator /usr/bin/qemu-system-x86_64 -- "));
    }
}
