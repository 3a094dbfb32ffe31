using VirtFleet.Networking;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The Core networking service (<see cref="FleetNetworking"/>) against fake hosts: read, save, reserve, release, default network.</summary>
public class FleetNetworkingTests
{
    static readonly CancellationToken None = CancellationToken.None;

    static VfNetwork App(params AddressReservation[] r) =>
        new("app", NetworkMode.Nat, VfNetwork.ParseSubnet("203.0.113.128/28"), ["h1", "h2"], span: false, 1000, reservations: r);

    [Fact]
    public async Task AHostThatDoesNotAnswerIsOneFailureAndAWarningAndIsLeftOut()
    {
        var fleet = new FakeNetworkFleet(3);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App()], 4));
        fleet["h3"].Down = true;
        var read = await fleet.Networking.ReadAsync(None);
        Assert.Equal(["h1", "h2"], read.Hosts.Select(h => h.Name));
        Assert.Equal(["ConnectionFailed"], fleet.FailureIds);
        Assert.Equal("Not read: h3. Their copies of the networking definitions are not updated by this command; run it again when they answer.", Assert.Single(fleet.Report.Warnings));
        Assert.Equal((4L, "app"), (read.Fleet.NetworksGeneration, read.Fleet.Networks.Single().Name));
        Assert.Equal(3, read.Addresses.Count); // every inventory host's address: VXLAN peers
        Assert.Same(read.Fleet, Assert.Single(fleet.Seen));

        var quiet = new FakeNetworkFleet(2);
        quiet["h2"].Down = true;
        await quiet.Networking.ReadAsync(None, quiet: true);
        Assert.Empty(quiet.Report.Failures);
        Assert.Empty(quiet.Report.Warnings);
    }

    [Fact]
    public async Task AnEmptyInventoryOrABrokenDocumentEndsTheRead()
    {
        var empty = new FakeNetworkFleet(0);
        Assert.Equal("NoHosts", (await Assert.ThrowsAsync<VfException>(() => empty.Networking.ReadAsync(None))).ErrorId);
        var broken = new FakeNetworkFleet(1);
        broken.Put(NetworkStore.NetworksFile, "{ not json");
        Assert.Equal("InvalidNetworkDocument", (await Assert.ThrowsAsync<VfException>(() => broken.Networking.ReadAsync(None))).ErrorId);
    }

    [Fact]
    public async Task ASaveThatMissesAHostNamesItAndTheNewestGenerationWins()
    {
        var fleet = new FakeNetworkFleet(3);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([], 2));
        fleet["h3"].Down = true;
        var net = fleet.Networking;
        var read = await net.ReadAsync(None);
        fleet.Report.Failures.Clear();
        Assert.True(await net.SaveNetworksAsync(read, [App()], None)); // every host that was read took it
        var e = Assert.Single(fleet.Report.Failures);
        Assert.Equal(("NetworksNotSaved", FailureKind.ResourceUnavailable, "h3"), (e.ErrorId, e.Kind, e.Target));
        Assert.StartsWith("networks.json (generation 3) was not written to h3 (see the errors above); it took effect on h1, h2.", e.Message);
        fleet["h3"].Down = false;
        Assert.Equal((3L, "app"), (fleet.Read().NetworksGeneration, fleet.Read().Networks.Single().Name));
    }

    [Fact]
    public async Task AWriteRefusedBecauseTheCopyChangedIsAFailureAndTheSaveSaysSo()
    {
        var fleet = new FakeNetworkFleet(2);
        var net = fleet.Networking;
        var read = await net.ReadAsync(None);
        fleet["h2"].Files[NetworkStore.GroupsFile] = SecurityGroupStore.ToJson([new SecurityGroup("other")], 1); // another run wrote meanwhile
        Assert.False(await net.SaveGroupsAsync(read, [new SecurityGroup("web")], None));
        Assert.Equal(["SecurityGroupsChanged", "SecurityGroupsNotSaved"], fleet.FailureIds);
        Assert.Equal("other", fleet["h2"].Read().Single().Name);
        Assert.Equal("web", SecurityGroupStore.FromJson(fleet["h1"].Files[NetworkStore.GroupsFile]).Single().Name);
    }

    [Fact]
    public async Task ReservationsTakeTheLowestFreeAddressesAndReplaceAnEarlierAttempt()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App(new AddressReservation("web1", "i-old", "52:54:00:00:00:09", "203.0.113.131", "h1"))], 1));
        var net = fleet.Networking;
        var read = await net.ReadAsync(None);
        var after = await net.ReserveAsync(read, read.Fleet.FindNetwork("app")!,
            [new("h1", "web1", "i-1", "52:54:00:00:00:01"), new("h2", "web2", "i-2", "52:54:00:00:00:02")], None);
        Assert.Equal([("web1", "203.0.113.131"), ("web2", "203.0.113.132")], after.FindNetwork("app")!.Reservations.Select(r => (r.Instance, r.Address)));
        Assert.Equal(2, after.NetworksGeneration);
        Assert.Equal(["web1: address 203.0.113.131 in network app", "web2: address 203.0.113.132 in network app"], fleet.Report.VerboseLines);
        Assert.Equal(["i-1", "i-2"], fleet.Read().FindNetwork("app")!.Reservations.Select(r => r.InstanceId));

        fleet["h2"].FailWrites = (1, "disk full");
        var again = await net.ReadAsync(None);
        var e = await Assert.ThrowsAsync<VfException>(() => net.ReserveAsync(again, again.Fleet.FindNetwork("app")!, [new("h1", "web3", "i-3", "52:54:00:00:00:03")], None));
        Assert.Equal(("ReservationFailed", "app"), (e.ErrorId, e.Target));
    }

    [Fact]
    public async Task TheDefaultNetworkAvoidsTheHostsAddressesAndIsAskedFor()
    {
        var declined = new FakeNetworkFleet(2, (_, _) => false);
        Assert.Null(await declined.Networking.EnsureDefaultNetworkAsync(None));
        Assert.Equal(["Create default network: vfdefault (Nat 10.254.0.0/24) on h1, h2"], declined.Report.Asked);
        Assert.All(declined.Hosts.Values, h => Assert.Empty(h.Files));

        var fleet = new FakeNetworkFleet(2);
        fleet["h2"].AddressLines.Add("3: eth1    inet 10.254.0.7/24 brd 10.254.0.255 scope global eth1");
        fleet["h2"].Down = false;
        var made = await fleet.Networking.EnsureDefaultNetworkAsync(None);
        Assert.NotNull(made);
        var (read, network) = made.Value;
        Assert.Equal(("vfdefault", NetworkMode.Nat, "10.254.1.0/24", 1000), (network.Name, network.Mode, network.Subnet.ToString(), network.Id));
        Assert.Equal(["h1", "h2"], network.Hosts);
        Assert.Equal(1, read.Fleet.NetworksGeneration); // read again after the write: the next write names these versions
        Assert.All(fleet.Hosts.Values, h => Assert.Single(h.Applied)); // each host got its libvirt network in one apply
        Assert.Contains("made the default network vfdefault (10.254.1.0/24) on h1, h2", fleet.Report.VerboseLines);
        Assert.Contains("h1: applied", fleet.Report.VerboseLines);

        // Made once: the next call returns it as it is and writes nothing.
        var writes = fleet["h1"].Files[NetworkStore.NetworksFile];
        Assert.Equal("vfdefault", (await fleet.Networking.EnsureDefaultNetworkAsync(None))!.Value.Network.Name);
        Assert.Equal(writes, fleet["h1"].Files[NetworkStore.NetworksFile]);
    }

    [Fact]
    public async Task ReleasingRemovedInstancesDropsTheirReservationsAndAddresses()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App(
            new AddressReservation("web1", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"),
            new AddressReservation("web2", "i-2", "52:54:00:00:00:02", "203.0.113.132", "h2"))], 3));
        fleet.Put(NetworkStore.AddressesFile, NetworkStore.AddressesToJson([AddressRange.Parse("203.0.113.200-203.0.113.201")],
            [new PublicAddress("203.0.113.200").Associate("web1", "i-1", "h1", "app", "203.0.113.131"), new PublicAddress("203.0.113.201")], 5));
        // A reservation by the same name with another instance id is someone else's (a re-created web1) and stays.
        await fleet.Networking.ReleaseAsync([new("h1", "web1", "i-1"), new("h2", "web2", "i-other")], null, None);
        var after = fleet.Read();
        Assert.Equal(["web2"], after.FindNetwork("app")!.Reservations.Select(r => r.Instance));
        Assert.False(after.Addresses.Single(a => a.Address == "203.0.113.200").Associated);
        Assert.Equal((4L, 6L), (after.NetworksGeneration, after.AddressesGeneration));
        Assert.Empty(fleet.Report.Failures);
    }

    [Fact]
    public async Task ReleasingWithStatesThatHoldNothingReadsNoMore()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App()], 1));
        var states = new Dictionary<string, HostNetworkState>
        {
            ["h1"] = await HostNetworkState.ReadAsync(fleet["h1"], None),
        };
        var reads = fleet.Hosts.Values.Sum(h => h.Reads);
        await fleet.Networking.ReleaseAsync([new("h1", "gone", "i-9")], states, None);
        Assert.Equal(reads, fleet.Hosts.Values.Sum(h => h.Reads));
        Assert.Equal(1, fleet.Read().NetworksGeneration); // nothing written
    }
}

internal static class FakeNetworkHostReads
{
    public static IReadOnlyList<SecurityGroup> Read(this FakeNetworkHost h) => SecurityGroupStore.FromJson(h.Files[NetworkStore.GroupsFile]);
}
