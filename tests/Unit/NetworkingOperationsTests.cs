using VirtFleet.Networking;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The networking operations (networks, security groups, public addresses) against fake hosts, as cmdlets and playbooks call them.</summary>
public class NetworkingOperationsTests
{
    static readonly CancellationToken None = CancellationToken.None;

    static VfNetwork App(params AddressReservation[] r) =>
        new("app", NetworkMode.Nat, VfNetwork.ParseSubnet("203.0.113.128/28"), ["h1", "h2"], span: false, 1000, reservations: r);

    static async Task<VfException> Fails(Func<Task> run) => await Assert.ThrowsAsync<VfException>(run);

    // ------------------------------------------------------------------ networks

    [Fact]
    public async Task ANewNetworkIsStoredEverywhereAndMadeOnItsOwnHostsOnly()
    {
        var declined = new FakeNetworkFleet(3, (_, _) => false);
        var request = new NewNetworkRequest("app", NetworkMode.Nat, ["h1", "h2"], "203.0.113.128/28", Span: true);
        Assert.Null(await NetworkOperations.NewAsync(declined.Scope, request, None));
        Assert.Equal(["Create network: app (Nat 203.0.113.128/28, spanning) on h1, h2"], declined.Report.Asked);
        Assert.All(declined.Hosts.Values, h => Assert.Empty(h.Files));

        var fleet = new FakeNetworkFleet(3);
        var made = await NetworkOperations.NewAsync(fleet.Scope, request, None);
        Assert.Equal(("app", 1000, true), (made!.Name, made.Id, made.Span));
        Assert.All(fleet.Hosts.Values, h => Assert.True(h.Files.ContainsKey(NetworkStore.NetworksFile))); // every host holds the definition
        Assert.Equal([1, 1, 0], fleet.Hosts.Values.Select(h => h.Applied.Count)); // made where it lives
        Assert.Contains(" vfx1000 1000 198.51.100.11 vfn1000 1450 198.51.100.12\n", fleet["h1"].Applied[0]);
        Assert.Empty(fleet.Report.Failures);

        // The same definition again returns it; another one by that name is refused.
        var again = await NetworkOperations.NewAsync(fleet.Scope, request, None);
        Assert.Equal(made.Id, again!.Id);
        Assert.Contains("network app exists with this definition", fleet.Report.VerboseLines);
        var e = await Fails(() => NetworkOperations.NewAsync(fleet.Scope, request with { Mode = NetworkMode.Isolated }, None));
        Assert.Equal(("NetworkExists", FailureKind.ResourceExists, "app"), (e.ErrorId, e.Kind, e.Target));
        Assert.Equal("A network 'app' exists with another definition (Nat 203.0.113.128/28).", e.Message);
    }

    [Theory]
    [InlineData("a;touch /tmp/x", "203.0.113.128/28", null, "InvalidNetworkName")]
    [InlineData("app", "203.0.113.130/28", null, "InvalidSubnet")]
    [InlineData("app", "198.51.100.0/28", null, "SubnetInUse")]
    [InlineData("lan", null, "br0", "BridgeNotFound")]
    public async Task BadNetworksAreRefusedBeforeAnythingIsWritten(string name, string? subnet, string? bridge, string id)
    {
        var fleet = new FakeNetworkFleet(2);
        var e = await Fails(() => NetworkOperations.NewAsync(fleet.Scope,
            new NewNetworkRequest(name, bridge is null ? NetworkMode.Nat : NetworkMode.Bridged, ["h1", "h2"], subnet, Bridge: bridge), None));
        Assert.Equal((id, name), (e.ErrorId, e.Target));
        Assert.All(fleet.Hosts.Values, h => Assert.Empty(h.Files));
    }

    [Fact]
    public async Task ANetworkWhoseHostsDoNotAllAnswerIsNotMade()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet["h2"].Down = true;
        var e = await Fails(() => NetworkOperations.NewAsync(fleet.Scope, new NewNetworkRequest("app", NetworkMode.Nat, ["h1", "h2"], "203.0.113.128/28"), None));
        Assert.Equal(("HostUnavailable", "The network's hosts h2 did not answer; nothing was created."), (e.ErrorId, e.Message));
        Assert.Equal("NoHosts", (await Fails(() => NetworkOperations.NewAsync(fleet.Scope, new NewNetworkRequest("app", NetworkMode.Nat, []), None))).ErrorId);
        Assert.Empty(fleet["h1"].Files);
    }

    [Fact]
    public async Task GetStreamsTheMatchesThenNamesWhatIsMissing()
    {
        var fleet = new FakeNetworkFleet(1);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App(), new VfNetwork("lan", NetworkMode.Bridged, null, ["h1"], false, 1001, bridge: "br0")], 1));
        var streamed = new List<string>();
        var got = await NetworkOperations.GetAsync(fleet.Scope, ["a*", "nosuch"], None, n => streamed.Add(n.Name));
        Assert.Equal(["app"], got.Select(n => n.Name));
        Assert.Equal(["app"], streamed);
        var e = Assert.Single(fleet.Report.Failures);
        Assert.Equal(("NetworkNotFound", "No network 'nosuch' in the fleet.", "nosuch"), (e.ErrorId, e.Message, e.Target));
        Assert.Equal(2, (await NetworkOperations.GetAsync(fleet.Scope, null, None)).Count);
    }

    [Fact]
    public async Task ANetworkInUseStaysAndAnotherIsTornDownOnItsHostsThenForgotten()
    {
        var fleet = new FakeNetworkFleet(2);
        var iso = new VfNetwork("iso", NetworkMode.Isolated, VfNetwork.ParseSubnet("203.0.113.144/28"), ["h2"], false, 1001);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App(), iso], 1));
        fleet["h1"].AddInstance("web1", "i-1", "52:54:00:00:00:01", "app");
        var removed = await NetworkOperations.RemoveAsync(fleet.Scope, ["app", "iso", "nosuch"], None);
        Assert.Equal(["iso"], removed);
        Assert.Equal(["NetworkInUse", "NetworkNotFound"], fleet.FailureIds);
        Assert.Equal("Network 'app' is in use by web1 on h1; remove those instances first.", fleet.Report.Failures[0].Message);
        Assert.Equal([0, 1], fleet.Hosts.Values.Select(h => h.TornDown.Count));
        Assert.Equal(["app"], fleet.Read().Networks.Select(n => n.Name));
        Assert.Equal(["Remove network: iso on h2"], fleet.Report.Asked);
    }

    private static readonly HostScripts.HostMarkers Markers = HostScripts.HostMarkers.New();

    [Fact]
    public async Task ANetworkNotRemovedFromEveryHostKeepsItsDefinition()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App()], 1));
        fleet["h2"].Down = true;
        Assert.Empty(await NetworkOperations.RemoveAsync(fleet.Scope, ["app"], None));
        Assert.Contains("Network 'app' was not removed from every host; its definition is kept so Remove-VfNetwork can run again.", fleet.Report.Warnings);
        Assert.Equal(["app"], FleetNetworkState.From([NetworkStore.ParseDocs("h1", "\n" + Markers["DOC"] + " networks.json\nv\n" + fleet["h1"].Files[NetworkStore.NetworksFile], Markers)]).Networks.Select(n => n.Name));
    }

    [Fact]
    public async Task RepairOnlyChecksWhenDeclinedAndCatchesUpABehindHostFirst()
    {
        var check = new FakeNetworkFleet(2, (_, _) => false);
        check.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App()], 2));
        var reports = await RepairAll(check);
        Assert.Equal(["h1", "h2"], reports.Select(r => r.Host).Order());
        Assert.All(reports, r => Assert.False(r.InSync)); // the fake hosts have no libvirt network
        Assert.All(check.Hosts.Values, h => Assert.Empty(h.Applied));

        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App()], 2));
        fleet["h2"].Files[NetworkStore.NetworksFile] = NetworkStore.NetworksToJson([], 1); // it missed the last write
        var streamed = new List<string>();
        await NetworkOperations.RepairAsync(fleet.Scope, new RepairNetworkRequest(["h2"]), None, r => streamed.Add(r.Host));
        Assert.Equal(["h2"], streamed);
        Assert.Equal(fleet["h1"].Files[NetworkStore.NetworksFile], fleet["h2"].Files[NetworkStore.NetworksFile]);
        Assert.Contains("h2: networks.json brought up to date (it missed a write)", fleet.Report.VerboseLines);
        Assert.Equal([0, 1], fleet.Hosts.Values.Select(h => h.Applied.Count));
        Assert.Equal(["Repair host networking: h2"], fleet.Report.Asked);
    }

    static Task<IReadOnlyList<NetworkHostReport>> RepairAll(FakeNetworkFleet fleet) =>
        NetworkOperations.RepairAsync(fleet.Scope, new RepairNetworkRequest(fleet.Hosts.Keys.ToList()), None);

    // ------------------------------------------------------------------ security groups

    [Fact]
    public async Task GroupsAreCreatedOnceAndRemovedOnlyWithoutMembers()
    {
        var fleet = new FakeNetworkFleet(2);
        var web = await SecurityGroupOperations.NewAsync(fleet.Scope, new NewSecurityGroupRequest("web", "public web", ["allow tcp 80 from 0.0.0.0/0"]), None);
        Assert.Equal(("web", "public web", 1), (web!.Name, web.Description, web.Rules.Count));
        var e = await Fails(() => SecurityGroupOperations.NewAsync(fleet.Scope, new NewSecurityGroupRequest("web"), None));
        Assert.Equal(("SecurityGroupExists", "Security group 'web' exists.", "web"), (e.ErrorId, e.Message, e.Target));
        Assert.Equal("InvalidRulePort", (await Fails(() => SecurityGroupOperations.NewAsync(fleet.Scope, new NewSecurityGroupRequest("db", Rules: ["allow tcp 70000 from 0.0.0.0/0"]), None))).ErrorId);
        await SecurityGroupOperations.NewAsync(fleet.Scope, new NewSecurityGroupRequest("db"), None);

        fleet["h2"].AddInstance("web1", "i-1", "52:54:00:00:00:01", "app", "web");
        Assert.Equal(["db"], await SecurityGroupOperations.RemoveAsync(fleet.Scope, ["web", "db", "nosuch"], None));
        Assert.Equal(["SecurityGroupInUse", "SecurityGroupNotFound"], fleet.FailureIds);
        Assert.Equal("Security group 'web' has members: web1 on h2.", fleet.Report.Failures[0].Message);
        Assert.Equal(["web"], fleet.Read().Groups.Select(g => g.Name));
        var listed = await SecurityGroupOperations.GetAsync(fleet.Scope, ["w*"], None);
        Assert.Equal("web", Assert.Single(listed).Name);
    }

    [Fact]
    public async Task GrantAndRevokeChangeTheGroupEverywhereAndReapplyOnlyWhereMembersRun()
    {
        var fleet = new FakeNetworkFleet(3);
        fleet.Put(NetworkStore.GroupsFile, SecurityGroupStore.ToJson([new SecurityGroup("web")], 3));
        fleet["h2"].AddInstance("web1", "i-1", "52:54:00:00:00:01", "app", "web");
        var request = new SecurityRulesRequest("web", ["allow tcp 80 from 0.0.0.0/0"]);
        var after = await SecurityGroupOperations.GrantAsync(fleet.Scope, request, None);
        Assert.Equal(["allow tcp 80 from 0.0.0.0/0"], after!.Rules.Select(r => r.ToString()));
        Assert.Equal([0, 1, 0], fleet.Hosts.Values.Select(h => h.Applied.Count));
        Assert.Equal((4L, 1), (fleet.Read().GroupsGeneration, fleet.Read().FindGroup("web")!.Rules.Count));
        Assert.Equal(["Grant network access: web: allow tcp 80 from 0.0.0.0/0"], fleet.Report.Asked);

        // Granting it again changes nothing and says so.
        await SecurityGroupOperations.GrantAsync(fleet.Scope, request, None);
        Assert.Contains("security group web already has allow tcp 80 from 0.0.0.0/0", fleet.Report.VerboseLines);
        Assert.Equal(4L, fleet.Read().GroupsGeneration);

        var revoked = await SecurityGroupOperations.RevokeAsync(fleet.Scope, request, None);
        Assert.Empty(revoked!.Rules);
        Assert.Equal(5L, fleet.Read().GroupsGeneration);
        Assert.Equal([0, 2, 0], fleet.Hosts.Values.Select(h => h.Applied.Count));

        var e = await Fails(() => SecurityGroupOperations.GrantAsync(fleet.Scope, request with { Group = "nosuch" }, None));
        Assert.Equal(("SecurityGroupNotFound", "No securitygroup 'nosuch' in the fleet."), (e.ErrorId, e.Message));
    }

    [Fact]
    public async Task SetMakesTheGroupHoldExactlyTheDeclaredRules()
    {
        var fleet = new FakeNetworkFleet(2);
        var declared = new SecurityRulesRequest("web", ["allow tcp 80 from 0.0.0.0/0", "allow icmp from 198.51.100.0/24"], "public web");
        var made = await SecurityGroupOperations.SetAsync(fleet.Scope, declared, None);
        Assert.Equal(2, made!.Rules.Count);
        Assert.Equal(["Create security group: web: allow tcp 80 from 0.0.0.0/0; allow icmp from 198.51.100.0/24"], fleet.Report.Asked);
        await SecurityGroupOperations.SetAsync(fleet.Scope, declared, None);
        Assert.Contains("security group web is as declared", fleet.Report.VerboseLines);
        Assert.Equal(1L, fleet.Read().GroupsGeneration);
        var narrowed = await SecurityGroupOperations.SetAsync(fleet.Scope, declared with { Rules = ["allow tcp 80 from 0.0.0.0/0"] }, None);
        Assert.Single(narrowed!.Rules);
        Assert.Equal((2L, "public web"), (fleet.Read().GroupsGeneration, fleet.Read().FindGroup("web")!.Description));
    }

    // ------------------------------------------------------------------ public addresses

    [Fact]
    public async Task AddressesComeFromThePoolLowestFirst()
    {
        var fleet = new FakeNetworkFleet(2);
        Assert.Equal("NoAddressPool", (await Fails(() => AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest(), None))).ErrorId);
        var first = await AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest(Pool: ["203.0.113.200-203.0.113.201"]), None);
        Assert.Equal("203.0.113.200", first!.Address);
        Assert.Equal("203.0.113.201", (await AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest(), None))!.Address);
        var e = await Fails(() => AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest(), None));
        Assert.Equal(("AddressPoolExhausted", "Every address of the pool (203.0.113.200-203.0.113.201) is allocated."), (e.ErrorId, e.Message));
        var exists = await Fails(() => AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest("203.0.113.200"), None));
        Assert.Equal(("AddressExists", "203.0.113.200"), (exists.ErrorId, exists.Target));
        var outside = await AddressOperations.NewAsync(fleet.Scope, new NewAddressRequest("198.51.100.250", Interface: "bond0"), None);
        Assert.Equal("bond0", outside!.Interface);
        var read = fleet.Read();
        Assert.Equal(["203.0.113.200-203.0.113.201", "198.51.100.250"], read.Pool.Select(p => p.ToString()));
        Assert.Equal(3, read.Addresses.Count);
        Assert.Equal(["198.51.100.250"], (await AddressOperations.GetAsync(fleet.Scope, ["198.*"], null, None)).Select(a => a.Address));
    }

    [Fact]
    public async Task AnAddressFollowsItsInstanceAndLeavesTheHostItWasOn()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.NetworksFile, NetworkStore.NetworksToJson([App(
            new AddressReservation("web1", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"),
            new AddressReservation("web2", "i-2", "52:54:00:00:00:02", "203.0.113.132", "h2"))], 1));
        fleet.Put(NetworkStore.AddressesFile, NetworkStore.AddressesToJson([AddressRange.Parse("203.0.113.200")], [new PublicAddress("203.0.113.200")], 1));
        fleet["h1"].AddInstance("web1", "i-1", "52:54:00:00:00:01", "app");
        fleet["h2"].AddInstance("web2", "i-2", "52:54:00:00:00:02", "app");

        var on1 = await AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", "web1"), None);
        Assert.Equal(("web1", "h1", "app", "203.0.113.131"), (on1!.Instance, on1.Host, on1.Network, on1.PrivateAddress));
        Assert.Equal([1, 0], fleet.Hosts.Values.Select(h => h.Applied.Count));
        Assert.Equal(["Associate with web1 on h1: 203.0.113.200"], fleet.Report.Asked);

        var moved = await AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", "i-2"), None); // by instance id
        Assert.Equal(("web2", "h2"), (moved!.Instance, moved.Host));
        Assert.Equal([2, 1], fleet.Hosts.Values.Select(h => h.Applied.Count)); // off h1, onto h2

        Assert.Equal(moved, await AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", "web2"), None));
        Assert.Contains("203.0.113.200 is already so", fleet.Report.VerboseLines);
        Assert.Equal([2, 1], fleet.Hosts.Values.Select(h => h.Applied.Count));

        var off = await AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", Disassociate: true), None);
        Assert.False(off!.Associated);
        Assert.False(fleet.Read().Addresses.Single().Associated);

        var e = await Fails(() => AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", "nosuch"), None));
        Assert.Equal(("InstanceNotFound", "nosuch"), (e.ErrorId, e.Target));
        e = await Fails(() => AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.254", Disassociate: true), None));
        Assert.Equal(("AddressNotFound", "No address '203.0.113.254' in the fleet."), (e.ErrorId, e.Message));
        e = await Fails(() => AddressOperations.SetAsync(fleet.Scope, new SetAddressRequest("203.0.113.200", "web1", "other"), None));
        Assert.Equal(("InstanceHasNoAddress", "Instance 'web1' has no known address in network other to forward to (no reservation or DHCP lease)."), (e.ErrorId, e.Message));
    }

    [Fact]
    public async Task ReleasedAddressesLeaveThePoolsListAndTheirHost()
    {
        var fleet = new FakeNetworkFleet(2);
        fleet.Put(NetworkStore.AddressesFile, NetworkStore.AddressesToJson([AddressRange.Parse("203.0.113.200-203.0.113.201")],
            [new PublicAddress("203.0.113.200").Associate("web2", "i-2", "h2", "app", "203.0.113.132"), new PublicAddress("203.0.113.201")], 1));
        fleet["h2"].AddressLines.Add("2: eth0    inet 203.0.113.200/32 scope global eth0:vf\\       valid_lft forever preferred_lft forever");
        Assert.Equal(["203.0.113.200"], await AddressOperations.RemoveAsync(fleet.Scope, ["203.0.113.200", "203.0.113.9"], None));
        Assert.Equal(["AddressNotFound"], fleet.FailureIds);
        Assert.Equal(["Release public address: 203.0.113.200 (on web2)"], fleet.Report.Asked);
        Assert.Equal(["203.0.113.201"], fleet.Read().Addresses.Select(a => a.Address));
        Assert.Equal([0, 1], fleet.Hosts.Values.Select(h => h.Applied.Count));
    }
}
