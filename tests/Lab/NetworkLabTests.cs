using System.Text.RegularExpressions;
using VirtFleet.Model;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Issue 6 on the lab: networks that span hosts, security groups, public addresses and repair, proven
/// with the tiny Linux guest (its page, ICMP, and its /cgi-bin/probe?ip= that pings and fetches another
/// address from inside the guest). Addresses: VirtFleet networks in 203.0.113.128/26 (not routed from the
/// admin side), public addresses from 203.0.113.200-220 with a /32 on-link route on the lab bridge.
/// </summary>
[Collection("lab3")]
public partial class NetworkLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private static readonly object Once = new();
    private static bool _imported;
    private readonly List<string> _routes = [];

    public NetworkLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        lock (Once)
        {
            if (_imported) return;
            _lab.Shell.Ok("Import-VfImage -Path $l | Out-Null", new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
            _imported = true;
        }
        Cleanup();
    }

    public void Dispose()
    {
        foreach (var r in _routes) LabFixture.Sh($"ip route del {r}/32 dev vflab0");
        Cleanup();
    }

    private void Cleanup()
    {
        _lab.Shell.Run("Get-VfInstance nt-* | Remove-VfInstance -Confirm:$false");
        _lab.Shell.Run("Get-VfAddress | Remove-VfAddress -Confirm:$false");
        _lab.Shell.Run("Get-VfSecurityGroup nt-* | Remove-VfSecurityGroup -Confirm:$false");
        _lab.Shell.Run("Get-VfNetwork nt-* | Remove-VfNetwork -Confirm:$false");
    }

    private List<T> Ok<T>(string script) => _lab.Shell.Ok(script).Select(o => (T)o.BaseObject).ToList();

    /// <summary>From inside the guest at <paramref name="from"/> (reached through its host's bridge): ping and fetch <paramref name="to"/>.</summary>
    private string Probe(string host, string from, string to) =>
        _lab.InHost(host, $"curl -s --max-time 20 'http://{from}/cgi-bin/probe?ip={to}'").Out;

    private string WaitForProbe(string host, string from, string to, params string[] expect)
    {
        var until = DateTime.UtcNow.AddSeconds(300); // TCG guests on a loaded machine boot slowly
        string last;
        do
        {
            last = Probe(host, from, to);
            if (expect.All(last.Contains)) return last;
            Thread.Sleep(1000);
        } while (DateTime.UtcNow < until);
        return last;
    }

    /// <summary>The admin side's view of a public address: its page, or null.</summary>
    private static string? Page(string address)
    {
        LabFixture.Sh($"ip neigh flush to {address}");
        var (code, page) = LabFixture.Sh($"curl -s --max-time 4 http://{address}/cloud.txt");
        return code == 0 ? page : null;
    }

    private static bool Pings(string address) => LabFixture.Sh($"busybox ping -c 1 -W 2 {address}").Code == 0;

    private void RouteToLab(string address)
    {
        LabFixture.Sh($"ip route replace {address}/32 dev vflab0");
        _routes.Add(address);
    }

    [GeneratedRegex(@"\[\d+:\d+\]")]
    private static partial Regex Counters();

    /// <summary>iptables-save of the filter and nat tables without VirtFleet's lines (our chains and the jumps to them) and counters.</summary>
    private string OutsideOurChains(string host)
    {
        var (code, text) = _lab.InHost(host, "iptables-save -t filter; iptables-save -t nat");
        Assert.Equal(0, code);
        return string.Join('\n', text.Split('\n')
            .Where(l => !l.StartsWith('#') && !l.StartsWith(":VF-") && !l.StartsWith("-A VF-") && !Regex.IsMatch(l, @"-j VF-[A-Z]"))
            .Select(l => Counters().Replace(l, "[0:0]")));
    }

    private string OurLines(string host) =>
        string.Join('\n', _lab.InHost(host, "iptables-save -t filter; iptables-save -t nat").Out.Split('\n')
            .Where(l => l.StartsWith(":VF-") || l.StartsWith("-A VF-") || l.Contains("-j VF-")).Select(l => Counters().Replace(l, "[0:0]")));

    [Fact]
    public void SpanningNetworkJoinsHostsWithStableAddressesAndOtherNetworksCannotReachIt()
    {
        var span = Ok<VfNetwork>("New-VfNetwork -Name nt-span -Mode Nat -Subnet 203.0.113.128/28 -Span -Host vfh1, vfh2").Single();
        Assert.Equal(["vfh1", "vfh2"], span.Hosts);
        Ok<VfNetwork>("New-VfNetwork -Name nt-other -Mode Isolated -Subnet 203.0.113.144/28 -Host vfh1");
        // Re-running with the same definition returns the network; another definition under the name is refused.
        Assert.Equal(span.Id, Ok<VfNetwork>("New-VfNetwork -Name nt-span -Mode Nat -Subnet 203.0.113.128/28 -Span -Host vfh1, vfh2").Single().Id);
        Assert.Contains("NetworkExists", _lab.Shell.Run("New-VfNetwork -Name nt-span -Mode Isolated -Subnet 203.0.113.128/28").Errors.Single().FullyQualifiedErrorId);

        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-a -Network nt-span -Host vfh1 -InstanceType t1.micro | Out-Null");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-b -Network nt-span -Host vfh2 -InstanceType t1.micro | Out-Null");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-c -Network nt-other -Host vfh1 -InstanceType t1.micro | Out-Null");

        var reservations = Ok<VfNetwork>("Get-VfNetwork nt-span").Single().Reservations.ToDictionary(r => r.Instance);
        var a = reservations["nt-a"].Address;
        var b = reservations["nt-b"].Address;
        var c = Ok<VfNetwork>("Get-VfNetwork nt-other").Single().Reservations.Single().Address;
        Assert.NotEqual(a, b);
        Assert.Equal("vfh1", reservations["nt-a"].Host);
        Assert.Equal("vfh2", reservations["nt-b"].Host);

        // a (on vfh1) and b (on vfh2) reach each other over the VXLAN by their reserved addresses.
        var ab = WaitForProbe("vfh1", a, b, "ping ok", "http ok");
        Assert.Contains("ping ok", ab);
        Assert.Contains("hostname=nt-b", ab);
        var ba = WaitForProbe("vfh2", b, a, "ping ok", "http ok");
        Assert.Contains("ping ok", ba);
        Assert.Contains("hostname=nt-a", ba);
        // The guests hold exactly those addresses (DHCP from their own host only).
        var instances = Ok<Instance>("Get-VfInstance nt-a, nt-b").ToDictionary(i => i.Name);
        Assert.Equal([a], instances["nt-a"].Addresses);
        Assert.Equal([b], instances["nt-b"].Addresses);

        // c, in another network on vfh1, reaches neither.
        WaitForProbe("vfh1", c, c, "http ok");
        foreach (var target in new[] { a, b })
        {
            var cx = Probe("vfh1", c, target);
            Assert.Contains("ping failed", cx);
            Assert.Contains("http failed", cx);
        }

        // Stable: after a reboot b has the same address.
        _lab.Shell.Ok("Restart-VfInstance nt-b -Force");
        Assert.Contains("hostname=nt-b", WaitForProbe("vfh1", a, b, "ping ok", "http ok"));

        var inUse = _lab.Shell.Run("Remove-VfNetwork nt-span -Confirm:$false");
        Assert.Contains("NetworkInUse", inUse.Errors.Single().FullyQualifiedErrorId);

        // Removing an instance releases its reservation; the next instance may take the address.
        _lab.Shell.Ok("Remove-VfInstance nt-a, nt-b, nt-c -Confirm:$false");
        Assert.Empty(Ok<VfNetwork>("Get-VfNetwork nt-span").Single().Reservations);
        _lab.Shell.Ok("Remove-VfNetwork nt-span, nt-other -Confirm:$false");
        Assert.Empty(Ok<VfNetwork>("Get-VfNetwork nt-*"));
        foreach (var h in new[] { "vfh1", "vfh2" })
        {
            Assert.NotEqual(0, _lab.InHost(h, $"ip link show {span.VxlanDevice}").Code);
            Assert.NotEqual(0, _lab.InHost(h, "virsh net-uuid nt-span").Code);
        }
    }

    [Fact]
    public void PublicAddressGoesOnEachHostsOwnOutsideInterface()
    {
        // vfh3's default route leaves through an interface that is not called eth0 (the other hosts have no default route:
        // their outside interface is the one VirtFleet reaches them on).
        Assert.Equal(0, _lab.InHost("vfh3", "ip link add vfout0 type veth peer name vfout0p && ip link set vfout0p up && ip link set vfout0 up && ip route add default dev vfout0").Code);
        try
        {
            var facts = Ok<HostFacts>("Test-VfHost").ToDictionary(f => f.Name);
            Assert.Equal("vfout0", facts["vfh3"].OutsideInterface);
            Assert.Equal("eth0", facts["vfh1"].OutsideInterface);

            Ok<VfNetwork>("New-VfNetwork -Name nt-out -Mode Nat -Subnet 203.0.113.192/29 -Host vfh3");
            _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-out1 -Network nt-out -Host vfh3 -InstanceType t1.micro | Out-Null");
            var address = Ok<PublicAddress>("New-VfAddress -Pool 203.0.113.200-203.0.113.220").Single();
            Assert.Null(address.Interface);
            Ok<PublicAddress>($"Set-VfAddress {address.Address} -Instance nt-out1");
            Assert.Contains($"inet {address.Address}/32", _lab.InHost("vfh3", "ip -4 -o addr show vfout0").Out);
            Assert.DoesNotContain($"inet {address.Address}/32", _lab.InHost("vfh3", "ip -4 -o addr show eth0").Out);
            Assert.All(Ok<NetworkHostReport>("Repair-VfNetwork -Host vfh3 -WhatIf"), r => Assert.True(r.InSync, string.Join("; ", r.Problems)));

            // -Interface overrides it.
            _lab.Shell.Ok($"Remove-VfAddress {address.Address} -Confirm:$false");
            var pinned = Ok<PublicAddress>("New-VfAddress -Interface eth0").Single();
            Ok<PublicAddress>($"Set-VfAddress {pinned.Address} -Instance nt-out1");
            Assert.Contains($"inet {pinned.Address}/32", _lab.InHost("vfh3", "ip -4 -o addr show eth0").Out);
            Assert.DoesNotContain($"inet {pinned.Address}/32", _lab.InHost("vfh3", "ip -4 -o addr show vfout0").Out);
        }
        finally
        {
            Cleanup();
            _lab.InHost("vfh3", "ip link del vfout0");
        }
    }

    [Fact]
    public void PublicAddressFollowsSecurityGroupsMovesInOneCallAndRepairRestoresIt()
    {
        string[] hosts = ["vfh1", "vfh2", "vfh3"];
        Ok<VfNetwork>("New-VfNetwork -Name nt-pub -Mode Nat -Subnet 203.0.113.160/28 -Host vfh2, vfh3");
        Ok<SecurityGroup>("New-VfSecurityGroup nt-web -Description 'public web'");
        var before = hosts.ToDictionary(h => h, OutsideOurChains);

        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-w1 -Network nt-pub -SecurityGroup nt-web -Host vfh3 -InstanceType t1.micro | Out-Null");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name nt-w2 -Network nt-pub -SecurityGroup nt-web -Host vfh2 -InstanceType t1.micro | Out-Null");
        var res = Ok<VfNetwork>("Get-VfNetwork nt-pub").Single().Reservations.ToDictionary(r => r.Instance);
        // The host itself reaches its guests (OUTPUT is not filtered): wait until both serve their page.
        foreach (var (h, n) in new[] { ("vfh3", "nt-w1"), ("vfh2", "nt-w2") })
            Assert.Equal(0, _lab.InHost(h, $"timeout 150 sh -c 'until curl -sf --max-time 3 http://{res[n].Address}/cloud.txt; do sleep 1; done'").Code);

        var address = Ok<PublicAddress>("New-VfAddress -Pool 203.0.113.200-203.0.113.220").Single().Address;
        RouteToLab(address);
        var set = Ok<PublicAddress>($"Set-VfAddress {address} -Instance nt-w1").Single();
        Assert.Equal(("vfh3", res["nt-w1"].Address), (set.Host, set.PrivateAddress));
        Assert.Contains($"inet {address}/32", _lab.InHost("vfh3", "ip -4 -o addr show eth0").Out);

        // Default deny: no page and no ping until the group allows them.
        Assert.Null(Page(address));
        Assert.False(Pings(address));
        _lab.Shell.Ok("Grant-VfNetworkAccess -Group nt-web -Protocol tcp -PortRange 80 -Source 0.0.0.0/0");
        Assert.Contains("hostname=nt-w1", Page(address));
        Assert.False(Pings(address));
        _lab.Shell.Ok("Grant-VfNetworkAccess nt-web -Rule 'allow icmp from 198.51.100.0/24'");
        Assert.True(Pings(address));
        _lab.Shell.Ok("Revoke-VfNetworkAccess -Group nt-web -Protocol icmp -Source 198.51.100.0/24");
        Assert.False(Pings(address));

        // One call moves the address to an instance on another host.
        var moved = Ok<PublicAddress>($"Set-VfAddress {address} -Instance nt-w2").Single();
        Assert.Equal("vfh2", moved.Host);
        Assert.DoesNotContain($"inet {address}/32", _lab.InHost("vfh3", "ip -4 -o addr show eth0").Out);
        Assert.Contains($"inet {address}/32", _lab.InHost("vfh2", "ip -4 -o addr show eth0").Out);
        Assert.Contains("hostname=nt-w2", Page(address));

        // Re-applying the same rules adds no duplicate and changes nothing: here ten times through the whole Repair path
        // on a real host; the 100 applies of the checklist run against real iptables in NetworkingIptablesTests.
        var ours = OurLines("vfh2");
        _lab.Shell.Ok("1..10 | ForEach-Object { Repair-VfNetwork -Host vfh2 -Force } | Out-Null");
        Assert.Equal(ours, OurLines("vfh2"));
        var all = _lab.InHost("vfh2", "iptables-save -t filter; iptables-save -t nat").Out.Split('\n').Where(l => l.StartsWith("-A ")).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());

        foreach (var h in hosts) Assert.Equal(before[h], OutsideOurChains(h));

        // libvirtd restarted and our chains flushed by hand: the page is gone until Repair-VfNetwork.
        _lab.InHost("vfh2", "kill $(cat /run/libvirtd.pid)");
        Assert.Equal(0, LabFixture.Sh($"bash '{Path.Combine(PowerShellHost.RepoRoot, "lab", "vflab.sh")}' up 3 >/dev/null", 180).Code);
        Assert.Equal(0, _lab.InHost("vfh2", "iptables -w -F VF-FORWARD && iptables -w -t nat -F VF-PREROUTING && iptables -w -t nat -F VF-POSTROUTING").Code);
        Assert.Null(Page(address));
        Assert.Contains(Ok<HostFacts>("Test-VfHost vfh2 -IncludeNetwork").Single().Problems, p => p.StartsWith("network: filter:"));
        Assert.False(Ok<NetworkHostReport>("Repair-VfNetwork -WhatIf").Single(r => r.Host == "vfh2").InSync);
        var repaired = Ok<NetworkHostReport>("Repair-VfNetwork").Single(r => r.Host == "vfh2");
        Assert.NotEmpty(repaired.Changes);
        Assert.Contains("hostname=nt-w2", Page(address));
        Assert.All(Ok<NetworkHostReport>("Repair-VfNetwork"), r => Assert.True(r.InSync, string.Join("; ", r.Problems)));
        // A libvirtd start reloads libvirt's own rules in an order of its choosing: vfh2's new baseline.
        before["vfh2"] = OutsideOurChains("vfh2");

        _lab.Shell.Ok("Revoke-VfNetworkAccess -Group nt-web -Rule 'allow tcp 80 from 0.0.0.0/0'");
        Assert.Null(Page(address));

        _lab.Shell.Ok($"Remove-VfAddress {address} -Confirm:$false");
        Assert.DoesNotContain($"inet {address}/32", _lab.InHost("vfh2", "ip -4 -o addr show eth0").Out);
        _lab.Shell.Ok("Remove-VfInstance nt-w1, nt-w2 -Confirm:$false");
        // After create, grant, associate, revoke, remove: every host's tables are as before outside our chains.
        foreach (var h in hosts) Assert.Equal(before[h], OutsideOurChains(h));
        foreach (var h in hosts) Assert.Equal("", OurLines(h));
    }

    [Fact]
    public void BridgedNetworkPlugsInstancesIntoAnExistingHostBridge()
    {
        // The lab's own routed network vflab has the bridge vfbr0 on every host, with DHCP from libvirt: a stand-in
        // for a host bridge on the physical network, addresses from outside VirtFleet.
        var lan = Ok<VfNetwork>("New-VfNetwork -Name nt-lan -Mode Bridged -Bridge vfbr0 -Host vfh1").Single();
        Assert.Equal(("vfbr0", false), (lan.Bridge, lan.IsLibvirtNetwork));
        Assert.Contains("BridgeNotFound", _lab.Shell.Run("New-VfNetwork -Name nt-nobr -Mode Bridged -Bridge nosuchbr0 -Host vfh1").Errors.Single().FullyQualifiedErrorId);
        var i = Ok<Instance>("New-VfInstance -Image vflinux -Name nt-br -Network nt-lan -InstanceType t1.micro -Wait -WaitTimeout 150").Single();
        Assert.Equal("vfh1", i.Host);
        Assert.Equal(["nt-lan"], i.Networks);
        var nic = System.Xml.Linq.XElement.Parse(_lab.InHost("vfh1", "virsh dumpxml nt-br").Out).Element("devices")!.Element("interface")!;
        Assert.Equal(("bridge", "vfbr0"), (nic.Attribute("type")!.Value, nic.Element("source")!.Attribute("bridge")!.Value));
        var address = Assert.Single(i.Addresses);
        var (code, page) = LabFixture.Sh($"timeout 60 sh -c 'until curl -sf --max-time 3 http://{address}/cloud.txt; do sleep 1; done'", 90);
        Assert.True(code == 0, page);
        Assert.Contains("hostname=nt-br", page);
        Assert.Contains("NetworkInUse", _lab.Shell.Run("Remove-VfNetwork nt-lan -Confirm:$false").Errors.Single().FullyQualifiedErrorId);
        _lab.Shell.Ok("Remove-VfInstance nt-br -Confirm:$false; Remove-VfNetwork nt-lan -Confirm:$false");
        Assert.Equal(0, _lab.InHost("vfh1", "test -e /sys/class/net/vfbr0").Code);
    }
}
