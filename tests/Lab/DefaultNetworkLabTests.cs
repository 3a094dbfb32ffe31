using System.Xml.Linq;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// The headline without -Network: instances join the fleet's default network (the one the inventory names, else
/// VirtFleet's own NAT network, made on first use). Addresses: VirtFleet's default network in 203.0.113.176/28 here.
/// </summary>
[Collection("lab3")]
public class DefaultNetworkLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly string _inventory;
    private readonly Dictionary<string, object?> _vars;

    public DefaultNetworkLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _lab.Shell.Ok("if (-not (Get-VfImage win2008)) { Import-VfImage -Path $w | Out-Null }; if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["w"] = GuestImages.Windows, ["l"] = GuestImages.Linux });
        // The lab's hosts in an inventory that names no default network (so VirtFleet makes its own), in a lab subnet.
        _inventory = Path.Combine(Directory.CreateTempSubdirectory("vf-dn-").FullName, "inventory.yml");
        File.WriteAllText(_inventory, $"knownHosts: {_lab.Status.KnownHosts}\ndefaultNetworkSubnet: 203.0.113.176/28\nhosts:\n" + string.Concat(_lab.Status.Hosts.Select(h =>
            $"  - name: {h.Name}\n    address: {h.Address}\n    keyFile: {_lab.Status.KeyFile}\n")));
        _vars = new Dictionary<string, object?> { ["inv"] = _inventory };
    }

    public void Dispose()
    {
        _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");
        _lab.Shell.Run("Get-VfNetwork vfdefault -Inventory $inv | Remove-VfNetwork -Inventory $inv -Confirm:$false", _vars);
    }

    private List<Instance> Instances(string script, IDictionary<string, object?>? v = null) =>
        _lab.Shell.Ok(script, v).Select(o => (Instance)o.BaseObject).ToList();

    private XElement Nic(Instance i) =>
        Assert.Single(XElement.Parse(_lab.InHost(i.Host, $"virsh dumpxml {i.Name}").Out).Element("devices")!.Elements("interface"));

    [Fact]
    public void HeadlineWindowsInstancesJoinTheInventorysDefaultNetwork()
    {
        var win = Instances("New-VfInstance -Image win2008 -Count 3");
        Assert.Equal(3, win.Count);
        foreach (var i in win)
        {
            Assert.Equal(InstanceState.Running, i.State);
            var nic = Nic(i);
            Assert.Equal("vflab", nic.Element("source")!.Attribute("network")!.Value);
            Assert.Equal("e1000", nic.Element("model")!.Attribute("type")!.Value);
            Assert.Single(i.MacAddresses);
        }
        // Opting out: no NIC at all.
        var bare = Assert.Single(Instances("New-VfInstance -Image win2008 -Name dn-bare -NoNetwork"));
        Assert.Empty(XElement.Parse(_lab.InHost(bare.Host, "virsh dumpxml dn-bare").Out).Element("devices")!.Elements("interface"));
    }

    [Fact]
    public void WithoutANamedNetworkVirtFleetMakesItsOwnAndEveryInstanceHasAnAddress()
    {
        var win = Instances("New-VfInstance -Image win2008 -Count 3 -Inventory $inv", _vars);
        Assert.Equal(3, win.Count);
        var subnet = System.Net.IPNetwork.Parse("203.0.113.176/28");
        foreach (var i in win)
        {
            Assert.Equal(InstanceState.Running, i.State);
            var nic = Nic(i);
            Assert.Equal("vfdefault", nic.Element("source")!.Attribute("network")!.Value);
            Assert.Equal("e1000", nic.Element("model")!.Attribute("type")!.Value);
            // The stable address reserved for the NIC (the blank disk never asks for a lease), shown by Get-VfInstance too.
            Assert.True(subnet.Contains(System.Net.IPAddress.Parse(Assert.Single(i.Addresses))), string.Join(",", i.Addresses));
        }
        Assert.Equal(3, Instances("Get-VfInstance -Inventory $inv", _vars).Where(i => i.Addresses.Count == 1).Count(i => win.Any(w => w.Name == i.Name)));
        Assert.Equal(3, win.Select(i => i.Addresses[0]).Distinct().Count());

        // The tiny Linux guest really gets its lease on that network and answers from it.
        var lin = Assert.Single(Instances("New-VfInstance -Image vflinux -Name dn-lin -InstanceType t1.micro -Inventory $inv -Wait -WaitTimeout 150", _vars));
        var address = Assert.Single(lin.Addresses);
        Assert.True(subnet.Contains(System.Net.IPAddress.Parse(address)));
        var (code, page) = _lab.InHost(lin.Host, $"timeout 60 sh -c 'until curl -sf --max-time 3 http://{address}/cloud.txt; do sleep 1; done'");
        Assert.True(code == 0, page);
        Assert.Contains("dn-lin", page);
    }

    [Fact]
    public void SeedAndDisksOfAnInstanceAreRootsAlone()
    {
        var i = Assert.Single(Instances("New-VfInstance -Image vflinux -Name dn-secret -InstanceType t1.micro -NoNetwork -UserData $u",
            new Dictionary<string, object?> { ["u"] = "#cloud-config\npassword: s3cret\n" }));
        var dir = $"/var/lib/libvirt/virtfleet/instances/{i.Name}";
        var (code, modes) = _lab.InHost(i.Host, $"stat -c '%n %a %U' {dir} {dir}/seed.iso {dir}/root.qcow2");
        Assert.True(code == 0, modes);
        Assert.Equal([$"{dir} 711 root", $"{dir}/seed.iso 600 root", $"{dir}/root.qcow2 600 root"],
            modes.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
