using System.Net;
using System.Xml.Linq;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Networks, the fleet documents, public addresses and the host reconciler, without hosts.</summary>
public class NetworkingFleetTests
{
    static VfNetwork Span(params AddressReservation[] r) =>
        new("app", NetworkMode.Nat, VfNetwork.ParseSubnet("203.0.113.128/28"), ["h1", "h2"], span: true, 1000, reservations: r);

    [Fact]
    public void GatewaysComeFirstAndReservationsTakeTheLowestFreeAddress()
    {
        var n = Span();
        Assert.Equal("203.0.113.129", n.Gateways["h1"]);
        Assert.Equal("203.0.113.130", n.Gateways["h2"]);
        Assert.Equal("203.0.113.131", n.NextFreeAddress().ToString());
        var taken = Span(new AddressReservation("a", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"));
        Assert.Equal("203.0.113.132", taken.NextFreeAddress().ToString());
        Assert.Equal("vfn1000", n.Bridge);
        Assert.Equal("vfx1000", n.VxlanDevice);
    }

    [Fact]
    public void AFullNetworkIsResourceUnavailable()
    {
        var small = new VfNetwork("s", NetworkMode.Isolated, VfNetwork.ParseSubnet("203.0.113.128/29"), ["h1"], false, 1001);
        var list = new List<AddressReservation>();
        for (var i = 0; i < 5; i++)
            list.Add(new AddressReservation($"i{i}", $"i-{i}", $"52:54:00:00:00:0{i}", small.WithReservations(list).NextFreeAddress().ToString(), "h1"));
        var e = Assert.Throws<VfException>(() => small.WithReservations(list).NextFreeAddress());
        Assert.Equal(("NetworkFull", FailureKind.ResourceUnavailable), (e.ErrorId, e.Kind));
    }

    [Theory]
    [InlineData("203.0.113.130/28")]
    [InlineData("203.0.113.0")]
    [InlineData("2001:db8::/64")]
    [InlineData("203.0.113.128/30")]
    public void SubnetsMustBeCanonicalIPv4(string subnet) =>
        Assert.ThrowsAny<VfException>(() => new VfNetwork("x", NetworkMode.Nat, VfNetwork.ParseSubnet(subnet), ["h1"], false, 1000));

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("-rf")]
    [InlineData("a b")]
    public void HostileNetworkNamesAreRefused(string name) =>
        Assert.Equal("InvalidNetworkName", Assert.Throws<VfException>(() =>
            new VfNetwork(name, NetworkMode.Nat, VfNetwork.ParseSubnet("203.0.113.128/28"), ["h1"], false, 1000)).ErrorId);

    [Fact]
    public void LibvirtXmlGivesEachHostItsGatewayAndAHostsDirectory()
    {
        var n = Span(new AddressReservation("a", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"), new AddressReservation("b", "i-2", "52:54:00:00:00:02", "203.0.113.132", "h2"));
        var xml = n.ToLibvirtXml("h2");
        Assert.Equal("app", xml.Element("name")!.Value);
        Assert.Equal("nat", xml.Element("forward")!.Attribute("mode")!.Value);
        Assert.Equal("1450", xml.Element("mtu")!.Attribute("size")!.Value);
        var ip = xml.Element("ip")!;
        Assert.Equal(("203.0.113.130", "255.255.255.240"), (ip.Attribute("address")!.Value, ip.Attribute("netmask")!.Value));
        // No <host> entries: reservations are files in the hosts directory (a live net-update would make libvirt rewrite its rules).
        Assert.Empty(ip.Element("dhcp")!.Elements("host"));
        Assert.Equal("203.0.113.131", ip.Element("dhcp")!.Element("range")!.Attribute("start")!.Value);
        Assert.Equal(["dhcp-hostsdir=/var/lib/libvirt/virtfleet/network/dhcp/app", "dhcp-ignore=tag:!known"],
            xml.Element(VfNetwork.DnsmasqNs + "options")!.Elements(VfNetwork.DnsmasqNs + "option").Select(o => o.Attribute("value")!.Value));
        Assert.Equal(["b"], n.DhcpHosts("h2").Select(r => r.Instance));
        Assert.Null(new VfNetwork("iso", NetworkMode.Isolated, VfNetwork.ParseSubnet("203.0.113.144/28"), ["h1"], false, 1001).ToLibvirtXml("h1").Element("forward"));
    }

    [Fact]
    public void DocumentsRoundTripAndRefuseOverlaps()
    {
        var n = Span(new AddressReservation("a", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"));
        var bridged = new VfNetwork("lan", NetworkMode.Bridged, null, ["h1"], false, 1001, bridge: "br0");
        var json = NetworkStore.NetworksToJson([n, bridged], 7);
        var (back, gen) = NetworkStore.NetworksFromJson(json);
        Assert.Equal(7, gen);
        Assert.Equal(json, NetworkStore.NetworksToJson(back, 7));
        Assert.Equal("br0", back.Single(x => x.Name == "lan").Bridge);
        var overlap = new VfNetwork("b", NetworkMode.Isolated, VfNetwork.ParseSubnet("203.0.113.128/27"), ["h1"], false, 1002);
        Assert.Equal("OverlappingSubnets", Assert.Throws<VfException>(() => NetworkStore.NetworksToJson([n, overlap], 1)).ErrorId);
        Assert.Equal("InvalidNetworkDocument", Assert.Throws<VfException>(() => NetworkStore.NetworksFromJson("{\"version\":1,\"generation\":1,\"networks\":[],\"x\":1}")).ErrorId);

        var pool = new[] { AddressRange.Parse("203.0.113.200-203.0.113.220") };
        var addrs = new[] { new PublicAddress("203.0.113.201").Associate("a", "i-1", "h1", "app", "203.0.113.131"), new PublicAddress("203.0.113.200") };
        var aj = NetworkStore.AddressesToJson(pool, addrs, 3);
        var (p2, a2, g2) = NetworkStore.AddressesFromJson(aj);
        Assert.Equal((1, 2, 3L), (p2.Count, a2.Count, g2));
        Assert.Equal("203.0.113.200", a2[0].Address);
        Assert.Equal(addrs[0], a2[1]);
    }

    [Fact]
    public void TheNewestGenerationWinsForEveryDocument()
    {
        NetworkStore.HostCopy Copy(string host, string text, string version) => new(host, version, text);
        var old = NetworkStore.NetworksToJson([Span()], 1);
        var @new = NetworkStore.NetworksToJson([Span(new AddressReservation("a", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"))], 2);
        var none = new NetworkStore.HostCopy("x", "none", "");
        var g1 = SecurityGroupStore.ToJson([new SecurityGroup("web")], 2);
        var g2 = SecurityGroupStore.ToJson([new SecurityGroup("db")], 1);
        var fleet = FleetNetworkState.From([
            new("h1", Copy("h1", old, "v1"), none, Copy("h1", g1, "g1")),
            new("h2", Copy("h2", @new, "v2"), none, Copy("h2", g2, "g2")),
            new("h3", Copy("h3", old, "v1"), none, Copy("h3", g2, "g2")),
        ]);
        Assert.Equal(2, fleet.NetworksGeneration);
        Assert.Single(fleet.Networks.Single().Reservations);
        Assert.Equal(("web", 2L), (fleet.Groups.Single().Name, fleet.GroupsGeneration));
        Assert.Empty(FleetNetworkState.From([new("h1", none, none, none)]).Networks);
    }

    /// <summary>Issue 13, defect 8: a revoke that reached one host of three is not outvoted by the two that missed it.</summary>
    [Fact]
    public void ARevokeThatReachedOneHostIsNotOutvotedByTwoOlderCopies()
    {
        var open = SecurityGroupStore.ToJson([new SecurityGroup("web", "", [SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0")])], 4);
        var revoked = SecurityGroupStore.ToJson([new SecurityGroup("web")], 5);
        var none = new NetworkStore.HostCopy("x", "none", "");
        var fleet = FleetNetworkState.From([
            new("h1", none, none, new("h1", "v5", revoked)),
            new("h2", none, none, new("h2", "v4", open)),
            new("h3", none, none, new("h3", "v4", open)),
        ]);
        Assert.Empty(fleet.FindGroup("web")!.Rules);
        Assert.Equal(5, fleet.GroupsGeneration);
        Assert.Equal("v5", fleet.NewestCopy(NetworkStore.GroupsFile)!.Version);
        // A document written before generations existed reads as generation 0 and loses to any newer write.
        var legacy = "{ \"version\": 1, \"groups\": [ { \"name\": \"web\", \"rules\": [ \"allow tcp 80 from 0.0.0.0/0\" ] } ] }";
        Assert.Equal(0, SecurityGroupStore.Read(legacy).Generation);
        Assert.Empty(FleetNetworkState.From([new("h1", none, none, new("h1", "v1", SecurityGroupStore.ToJson([new SecurityGroup("web")], 1))),
            new("h2", none, none, new("h2", "v0", legacy)), new("h3", none, none, new("h3", "v0", legacy))]).FindGroup("web")!.Rules);
    }

    [Theory]
    [InlineData("203.0.113.220-203.0.113.200")]
    [InlineData("203.0.113.1-")]
    [InlineData("example.com")]
    public void BadPoolsAreRefused(string pool) => Assert.Equal("InvalidAddressPool", Assert.Throws<VfException>(() => AddressRange.Parse(pool)).ErrorId);

    // ------------------------------------------------------------------ reconciler

    const string Uuid = "0f0e0d0c-0b0a-0908-0706-050403020100";

    static string DomainXml(string name, string id, string mac, string network, string tap, params string[] groups) => $"""
        <domain type='qemu' id='3'><name>{name}</name><uuid>{Uuid}</uuid>
          <metadata><vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'><vf:id>{id}</vf:id>
            <vf:networks><vf:network>{network}</vf:network></vf:networks>
            {(groups.Length == 0 ? "" : "<vf:securityGroups>" + string.Concat(groups.Select(g => $"<vf:group>{g}</vf:group>")) + "</vf:securityGroups>")}
          </vf:instance></metadata>
          <memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
          <devices><interface type='network'><mac address='{mac}'/><source network='{network}'/><target dev='{tap}'/><model type='virtio'/></interface></devices>
        </domain>
        """;

    static string StateText(string domainXml, string networkXml, string links, string vxlan, string addresses, string filter = "", string nat = "", string dhcp = "",
        string outside = "") =>
        "\n@@VF-DOC@@ networks.json\nnone\n\n@@VF-DOC@@ addresses.json\nnone\n\n@@VF-DOC@@ groups.json\nnone\n" +
        "\n@@VF-SECTION@@ domains\n@@VF-DOMAIN@@ " + Uuid + "\nrunning\n" + domainXml + "\n" +
        "\n@@VF-SECTION@@ networks\n\n@@VF-NET@@ app 1 1 1\n" + networkXml + "\n" +
        "\n@@VF-SECTION@@ links\n" + links + "\n" +
        "\n@@VF-SECTION@@ vxlan\n" + vxlan + "\n" +
        "\n@@VF-SECTION@@ outside\n" + outside + "\n" +
        "\n@@VF-SECTION@@ addresses\n" + addresses + "\n" +
        "\n@@VF-SECTION@@ dhcp\n" + dhcp + "\n@@VF-SECTION@@ leases\n\n@@VF-SECTION@@ filter\n" + filter + "@@VF-BRIDGE-NF@@ 1\n\n@@VF-SECTION@@ nat\n" + nat;

    /// <summary>The markers of the test's "run" (the fixed ones in the texts above get its nonce).</summary>
    static readonly VirtFleet.HostScripts.HostMarkers M = new("0123456789abcdef");

    static string Nonced(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, "@@VF-(DOC|SECTION|DOMAIN|NET|FDB|DHCPNET)@@", m => M[m.Groups[1].Value]);

    static readonly IReadOnlyDictionary<string, string> HostAddresses = new Dictionary<string, string> { ["h1"] = "198.51.100.11", ["h2"] = "198.51.100.12" };

    static FleetNetworkState Fleet(VfNetwork n, IReadOnlyList<PublicAddress>? addresses = null, IReadOnlyList<SecurityGroup>? groups = null) => new()
    {
        Networks = [n], Groups = groups ?? [new SecurityGroup("web", null, [SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0")])],
        Pool = [AddressRange.Parse("203.0.113.200-203.0.113.220")], Addresses = addresses ?? [],
    };

    static HostNetworkState Live(VfNetwork n, bool vxlanOk, string filter = "", string nat = "", string extraAddress = "", string dhcp = "",
        string outside = "", string? address = "198.51.100.11")
    {
        var netXml = LibvirtNetworkXml(n, "h1");
        var vxlan = vxlanOk
            ? "5: vfx1000: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master vfn1000 state UNKNOWN \\    vxlan id 1000 local 198.51.100.11 srcport 0 0 dstport 4789 nolearning\n@@VF-FDB@@ vfx1000 198.51.100.12"
            : "";
        return HostNetworkState.Parse("h1", Nonced(StateText(DomainXml("web1", "i-1", "52:54:00:00:00:01", "app", "vnet0", "web"), netXml,
            "lo \neth0 \nvfn1000 \nvnet0 vfn1000\n" + (vxlanOk ? "vfx1000 vfn1000\n" : ""), vxlan,
            "2: eth0    inet 198.51.100.11/24 brd 198.51.100.255 scope global eth0\n" + extraAddress, filter, nat, dhcp, outside)), M, address);
    }

    static string LibvirtNetworkXml(VfNetwork n, string host) => n.ToLibvirtXml(host).ToString();

    [Fact]
    public void MissingVxlanAndFirewallAreReportedAndTheApplyScriptQuotesEverything()
    {
        var n = Span(new AddressReservation("web1", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"));
        var fleet = Fleet(n);
        var live = Live(n, vxlanOk: false);
        Assert.Single(live.Domains);
        var want = NetworkReconciler.Plan(fleet, live);
        Assert.Contains(want.Firewall.Rules, r => r.Contains("-d 203.0.113.131/32 -o vfn1000"));
        var problems = NetworkReconciler.Check(fleet, live, want, HostAddresses);
        Assert.Contains("network app: VXLAN link vfx1000 is missing", problems);
        Assert.Contains(problems, p => p.StartsWith("filter: "));
        var script = NetworkReconciler.ApplyScript(fleet, live, want, HostAddresses);
        Assert.Contains(" /var/lib/libvirt/virtfleet/network/dhcp/app vfx1000 1000 198.51.100.11 vfn1000 1450 198.51.100.12\n", script);
        Assert.Contains("network app: DHCP reservation 52:54:00:00:00:01 203.0.113.131 missing", problems);
        Assert.Contains("vf_dhcp app /var/lib/libvirt/virtfleet/network/dhcp/app 52:54:00:00:00:01,203.0.113.131", script);
        Assert.DoesNotContain("flock", script); // the lock is HostLock's, around the whole script (ReconcileAsync)
        Assert.DoesNotContain("vf_nat", script.Split("vf_nat() {")[1].Split("\n}\n", 2)[1]); // no public address: nat untouched
    }

    [Fact]
    public void InSyncHostHasNoProblems()
    {
        var n = Span(new AddressReservation("web1", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"));
        var fleet = Fleet(n);
        var want = NetworkReconciler.Plan(fleet, Live(n, true));
        var filter = "-A FORWARD -j VF-FORWARD\n" + want.Firewall.ToString().Replace("*filter\n", "").Replace("COMMIT\n", "");
        var live = Live(n, true, filter, dhcp: "@@VF-DHCPNET@@ app\n52:54:00:00:00:01,203.0.113.131\n\n");
        Assert.Equal([("52:54:00:00:00:01", "203.0.113.131")], live.DhcpHosts["app"]);
        Assert.Empty(NetworkReconciler.Check(fleet, live, NetworkReconciler.Plan(fleet, live), HostAddresses));
    }

    [Fact]
    public void PublicAddressPlansDnatSnatAndAnAcceptForItsDnatedTraffic()
    {
        var n = Span(new AddressReservation("web1", "i-1", "52:54:00:00:00:01", "203.0.113.131", "h1"));
        var addr = new PublicAddress("203.0.113.200").Associate("web1", "i-1", "h1", "app", "203.0.113.131");
        var fleet = Fleet(n, [addr]);
        // 207 was put there by VirtFleet (its label); 219 on lo and 218 on eth0 are in the pool's range but not VirtFleet's
        // (an admin's address, a keepalived VIP).
        var live = Live(n, true, extraAddress: "2: eth0    inet 203.0.113.207/32 scope global eth0:vf\\       valid_lft forever preferred_lft forever\n" +
            "1: lo    inet 203.0.113.219/32 scope global lo\\       valid_lft forever preferred_lft forever\n" +
            "2: eth0    inet 203.0.113.218/32 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n");
        Assert.Equal([("eth0", "203.0.113.207/32")], live.OurAddresses);
        var want = NetworkReconciler.Plan(fleet, live);
        Assert.Equal([
            ":VF-POSTROUTING - [0:0]", ":VF-PREROUTING - [0:0]",
            "-A VF-POSTROUTING -s 203.0.113.131/32 ! -d 203.0.113.128/28 -m comment --comment \"vf:web1 203.0.113.200\" -j SNAT --to-source 203.0.113.200",
            "-A VF-PREROUTING -d 203.0.113.200/32 -m comment --comment \"vf:web1 203.0.113.200\" -j DNAT --to-destination 203.0.113.131",
        ], want.Nat.Lines);
        Assert.Contains("-A VF-FORWARD -d 203.0.113.131/32 -o vfn1000 -m conntrack --ctstate DNAT --ctorigdst 203.0.113.200 -m comment --comment \"vf:web1 203.0.113.200\" -j ACCEPT", want.Firewall.Rules);
        var problems = NetworkReconciler.Check(fleet, live, want, HostAddresses);
        Assert.Contains("public address 203.0.113.200 is not on eth0", problems);
        // An address VirtFleet added that nobody holds here is removed; the host's own, and addresses VirtFleet did not add, never are.
        Assert.Contains("public address 203.0.113.207/32 on eth0 is not associated with an instance here", problems);
        Assert.DoesNotContain(problems, p => p.Contains("203.0.113.219") || p.Contains("203.0.113.218"));
        var script = NetworkReconciler.ApplyScript(fleet, live, want, HostAddresses);
        Assert.Contains("vf_addr del 203.0.113.207/32 eth0 eth0:vf", script);
        Assert.Contains("vf_addr add 203.0.113.200/32 eth0 eth0:vf", script);
        Assert.DoesNotContain("203.0.113.219", script);
        Assert.DoesNotContain("203.0.113.218", script);
        Assert.DoesNotContain("198.51.100.11/24", script);
        Assert.Contains("vf_nat 1 " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', want.Nat.Lines) + "\n")) + "\n", script);
        // The same rules in the host's nat table (as iptables-save prints them) are in sync.
        var nat = "-A PREROUTING -j VF-PREROUTING\n-A POSTROUTING -j VF-POSTROUTING\n-A POSTROUTING -j LIBVIRT_PRT\n" + string.Join('\n', want.Nat.Lines) + "\n";
        Assert.Empty(want.Nat.Compare(nat));
        Assert.Contains("nat: the jump to VF-PREROUTING is not the first and only one in PREROUTING",
            want.Nat.Compare(nat.Replace("-A PREROUTING -j VF-PREROUTING\n", "-A PREROUTING -j DOCKER\n-A PREROUTING -j VF-PREROUTING\n")));
    }

    [Fact]
    public void PublicAddressGoesOnTheHostsOutsideInterfaceUnlessItNamesOne()
    {
        var n = Span();
        var addr = new PublicAddress("203.0.113.200").Associate("web1", "i-1", "h1", "app", "203.0.113.135");
        // The default route's interface, whatever it is called.
        var want = NetworkReconciler.Plan(Fleet(n, [addr]), Live(n, true, outside: "enp3s0"));
        Assert.Equal("enp3s0", Assert.Single(want.Addresses).Interface);
        Assert.Contains("vf_addr add 203.0.113.200/32 enp3s0", NetworkReconciler.ApplyScript(Fleet(n, [addr]), Live(n, true, outside: "enp3s0"), want, HostAddresses));
        // No default route: the interface holding the host's inventory address.
        Assert.Equal("eth0", Assert.Single(NetworkReconciler.Plan(Fleet(n, [addr]), Live(n, true)).Addresses).Interface);
        // -Interface wins.
        var pinned = new PublicAddress("203.0.113.200", "bond0").Associate("web1", "i-1", "h1", "app", "203.0.113.135");
        Assert.Equal("bond0", Assert.Single(NetworkReconciler.Plan(Fleet(n, [pinned]), Live(n, true, outside: "enp3s0")).Addresses).Interface);
        // Neither: not applied, and the warning says what to do.
        var unknown = NetworkReconciler.Plan(Fleet(n, [addr]), Live(n, true, address: null));
        Assert.Empty(unknown.Addresses);
        Assert.Contains(unknown.Warnings, w => w.Contains("-Interface"));
        // Stored without an interface (as addresses made with the old eth0 default were), read back the same.
        var json = NetworkStore.AddressesToJson([], [addr], 1);
        Assert.DoesNotContain("\"interface\"", json);
    }

    [Fact]
    public void OutsideInterfaceIsTheDefaultRoutesElseTheOneWithTheHostsAddress()
    {
        var host = new VirtFleet.Model.HostEntry { Name = "hv1", Address = "198.51.100.11" };
        Assert.Equal("eno1", VirtFleet.Hosts.HostProbe.Parse(host, "outside=eno1\naddrs=\n").OutsideInterface);
        Assert.Equal("br0", VirtFleet.Hosts.HostProbe.Parse(host, "outside=\naddrs=lo=127.0.0.1 br0=198.51.100.11 vfbr0=203.0.113.1 \n").OutsideInterface);
        Assert.Null(VirtFleet.Hosts.HostProbe.Parse(host, "outside=\naddrs=lo=127.0.0.1 \n").OutsideInterface);
    }

    [Fact]
    public void AnAddressWhoseInstanceIsNotHereIsNotApplied()
    {
        var n = Span();
        var addr = new PublicAddress("203.0.113.200").Associate("elsewhere", "i-9", "h1", "app", "203.0.113.135");
        var want = NetworkReconciler.Plan(Fleet(n, [addr]), Live(n, true));
        Assert.Empty(want.Addresses);
        Assert.False(want.Nat.InstallsJumps);
        Assert.Contains(want.Warnings, w => w.Contains("elsewhere"));
    }

    [Fact]
    public void StateParserReadsVxlanLinksAndLeases()
    {
        var n = Span();
        var live = Live(n, true);
        var vx = live.Vxlans["vfx1000"];
        Assert.Equal((1000, "198.51.100.11", "vfn1000", true), (vx.Vni, vx.Local, vx.Master, vx.Up));
        Assert.Equal(["198.51.100.12"], vx.Peers);
        Assert.Equal("vfn1000", live.Links["vnet0"]);
        Assert.Null(live.Links["eth0"]);
        Assert.True(live.Networks["app"].Active);
        Assert.Equal("vfn1000", live.Networks["app"].Info.Bridge);
        Assert.Contains(("eth0", "198.51.100.11/24"), live.Addresses);
    }
}

/// <summary>
/// A host's libvirt network XML and the public-address plans, byte for byte with tests/Unit/Golden/Networking/.
/// After an intended change: VF_UPDATE_GOLDEN=1 dotnet test tests/Unit -c Release, then review the diff.
/// </summary>
public class NetworkingFleetGoldenTests
{
    static readonly VfNetwork SpanNat = new("app", NetworkMode.Nat, VfNetwork.ParseSubnet("203.0.113.128/28"), ["hv1", "hv2", "hv3"], span: true, 1000,
        description: "app tier", reservations:
        [
            new AddressReservation("web-1", "i-0a1b2c3d", "52:54:00:aa:00:01", "203.0.113.132", "hv2"),
            new AddressReservation("web-2", "i-0a1b2c3e", "52:54:00:aa:00:02", "203.0.113.133", "hv1"),
        ]);

    static readonly VfNetwork Isolated = new("backend", NetworkMode.Isolated, VfNetwork.ParseSubnet("203.0.113.144/29"), ["hv1"], span: false, 1001);

    static readonly Dictionary<string, Func<string>> Cases = new()
    {
        ["network-nat-span-hv2.xml"] = () => VirtFleet.Libvirt.LibvirtXml.Format(SpanNat.ToLibvirtXml("hv2")),
        ["network-isolated-hv1.xml"] = () => VirtFleet.Libvirt.LibvirtXml.Format(Isolated.ToLibvirtXml("hv1")),
        ["networks.json"] = () => NetworkStore.NetworksToJson([SpanNat, Isolated], 4),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory, MemberData(nameof(CaseNames))]
    public void MatchesGoldenFile(string name)
    {
        var text = Cases[name]();
        var path = Path.Combine(LibvirtFixtures.UnitDir, "Golden", "Networking", name);
        if (Environment.GetEnvironmentVariable("VF_UPDATE_GOLDEN") == "1") File.WriteAllText(path, text);
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with VF_UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), text);
    }

    [Theory]
    [InlineData("network-nat-span-hv2.xml")]
    [InlineData("network-isolated-hv1.xml")]
    public void LibvirtsSchemaAcceptsTheNetworkXml(string name)
    {
        if (!File.Exists("/usr/bin/virt-xml-validate")) return; // libvirt-clients not installed: the lab tests define them for real
        var file = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid():N}.xml");
        File.WriteAllText(file, Cases[name]());
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("virt-xml-validate", [file, "network"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);
        }
        finally { File.Delete(file); }
    }
}
