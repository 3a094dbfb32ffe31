using System.Management.Automation;
using System.Xml.Linq;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>The project's guest images (tiny Linux, blank win2008, the Windows stand-in vfwin), built from Debian packages once per run.</summary>
public static class GuestImages
{
    private static readonly Lazy<string> Built = new(() =>
    {
        var dir = Environment.GetEnvironmentVariable("VF_GUEST_CACHE") ?? "/var/cache/virtfleet/guests";
        var script = Path.Combine(PowerShellHost.RepoRoot, "lab", "guest", "build-guest.sh");
        var (code, output) = LabFixture.Sh($"bash '{script}' '{dir}'", 300);
        if (code != 0) throw new InvalidOperationException("build-guest.sh failed: " + output);
        return dir;
    });

    public static string Dir => Built.Value;
    public static string Linux => Path.Combine(Dir, "vflinux");
    public static string Windows => Path.Combine(Dir, "win2008");
    /// <summary>The stand-in for a Windows guest: boots from its SATA disk, reads the config drive, writes its password.</summary>
    public static string WindowsGuest => Path.Combine(Dir, "vfwin");
}

[Collection("lab3")]
public class InstanceLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private static readonly object Once = new();
    private static bool _imported;

    public InstanceLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        lock (Once)
        {
            if (_imported) return;
            Environment.SetEnvironmentVariable("VIRTFLEET_KEYPAIRS", Path.Combine(Path.GetTempPath(), "vf-lab-keypairs"));
            _lab.Shell.Ok("New-VfKeyPair labkey -Force | Out-Null");
            _lab.Shell.Ok("Import-VfImage -Path $w | Out-Null; Import-VfImage -Path $l | Out-Null",
                new Dictionary<string, object?> { ["w"] = GuestImages.Windows, ["l"] = GuestImages.Linux });
            _imported = true;
        }
    }

    public void Dispose() => _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");

    private List<Instance> Instances(string script) => _lab.Shell.Ok(script).Select(o => (Instance)o.BaseObject).ToList();

    private XElement LiveXml(Instance i) => XElement.Parse(_lab.InHost(i.Host, $"virsh dumpxml {i.Name}").Out);

    private string InstanceDirs(string host) => _lab.InHost(host, "ls -A /var/lib/libvirt/virtfleet/instances 2>/dev/null").Out;

    [Fact]
    public void WindowsAndLinuxRunSideBySideWithTheirOwnTemplates()
    {
        var win = Instances("New-VfInstance -Image win2008 -Count 3");
        var lin = Instances("New-VfInstance -Image vflinux -Count 3 -InstanceType t1.micro -Network vflab -KeyPair labkey -NamePrefix lx -Wait -WaitTimeout 120");
        Assert.Equal(3, win.Count);
        Assert.Equal(3, lin.Count);
        Assert.All(win.Concat(lin), i => Assert.Equal(InstanceState.Running, i.State));
        // LeastLoaded spreads both batches: every host runs a Windows and a Linux instance at once.
        Assert.Equal(["vfh1", "vfh2", "vfh3"], win.Select(i => i.Host).Order());
        Assert.Equal(["vfh1", "vfh2", "vfh3"], lin.Select(i => i.Host).Order());

        var w = LiveXml(win[0]);
        var hyperv = w.Element("features")!.Element("hyperv")!;
        Assert.NotNull(hyperv.Element("relaxed"));
        Assert.NotNull(hyperv.Element("vapic"));
        Assert.Equal("localtime", w.Element("clock")!.Attribute("offset")!.Value);
        Assert.Contains(w.Element("clock")!.Elements("timer"), t => t.Attribute("name")!.Value == "hypervclock");
        var disk = w.Element("devices")!.Elements("disk").First(d => d.Attribute("device")!.Value == "disk");
        Assert.Equal("sata", disk.Element("target")!.Attribute("bus")!.Value);
        Assert.Equal("qemu", w.Attribute("type")!.Value);

        var l = LiveXml(lin[0]);
        Assert.Equal("virtio", l.Element("devices")!.Element("interface")!.Element("model")!.Attribute("type")!.Value);
        Assert.NotNull(l.Element("devices")!.Element("console"));

        // Each Linux guest read its seed: hostname and the key pair, served from the guest to the admin side.
        var key = File.ReadAllText(Path.Combine(Path.GetTempPath(), "vf-lab-keypairs", "labkey.pub")).Split(' ')[1];
        foreach (var i in lin)
        {
            var address = Assert.Single(i.Addresses);
            var (code, page) = LabFixture.Sh($"timeout 30 sh -c 'until curl -sf --max-time 3 http://{address}/cloud.txt; do sleep 1; done'", 60);
            Assert.True(code == 0, page);
            Assert.Contains(i.Name, page);
            Assert.Contains(key, page);
        }
    }

    [Fact]
    public void WindowsWithNetworkGetsE1000()
    {
        var i = Instances("New-VfInstance -Image win2008 -Name winnet -Network vflab").Single();
        var nic = LiveXml(i).Element("devices")!.Element("interface")!;
        Assert.Equal("e1000", nic.Element("model")!.Attribute("type")!.Value);
    }

    [Theory]
    [InlineData("after-disk", "qemu-img", "create")]
    [InlineData("after-define", "virsh", "define")]
    [InlineData("after-start", "virsh", "start")]
    public void DroppedConnectionMidCreateThenRerunConverges(string stage, string tool, string step)
    {
        var name = "crash-" + stage;
        // The SSH session drops right after that step on the host (the tool is overlaid inside the lab host only).
        using (_lab.DropSessionAfter("vfh2", tool, step))
        {
            var first = _lab.Shell.Run($"New-VfInstance -Image vflinux -Name {name} -InstanceType t1.micro -Host vfh2");
            Assert.NotEmpty(first.Errors);
            Assert.Equal(ErrorCategory.ConnectionError, first.Errors[0].CategoryInfo.Category);
        }
        var again = Instances($"New-VfInstance -Image vflinux -Name {name} -InstanceType t1.micro -Host vfh2");
        var i = Assert.Single(again);
        Assert.Equal(InstanceState.Running, i.State);
        Assert.Single(Instances($"Get-VfInstance {name}"));
        Assert.Contains(name, InstanceDirs("vfh2"));
        Assert.DoesNotContain(".creating", _lab.InHost("vfh2", $"ls -A /var/lib/libvirt/virtfleet/instances/{name}").Out);
        _lab.Shell.Ok($"Remove-VfInstance {name} -Confirm:$false");
        Assert.DoesNotContain(name, InstanceDirs("vfh2"));
        Assert.Equal(1, _lab.InHost("vfh2", $"virsh domuuid {name}").Code);
    }

    [Theory]
    [InlineData("a;touch /tmp/vf-canary")]
    [InlineData("$(touch /tmp/vf-canary)")]
    [InlineData("<x/>")]
    [InlineData("-rf")]
    [InlineData("a\nb")]
    public void HostileNamesAreRejected(string name)
    {
        var r = _lab.Shell.Run("New-VfInstance -Image vflinux -Name $n -InstanceType t1.micro", new Dictionary<string, object?> { ["n"] = name });
        Assert.Equal(ErrorCategory.InvalidArgument, Assert.Single(r.Errors).CategoryInfo.Category);
        foreach (var h in _lab.Status.Hosts) Assert.Equal(1, _lab.InHost(h.Name, "test -e /tmp/vf-canary").Code);
    }

    [Fact]
    public void XmlMetacharactersInTagsStayText()
    {
        string[] tags = ["</vf:tag><vf:tag>injected", "a&b", "x'\"<y>", "$(touch /tmp/vf-canary)"];
        var i = Instances("New-VfInstance -Image vflinux -Name tagged -InstanceType t1.micro -Tag $t", new Dictionary<string, object?> { ["t"] = tags }).Single();
        Assert.Equal(tags, i.Tags);
        var xml = LiveXml(i);
        XNamespace vf = "https://virtfleet.dev/xmlns/instance/1";
        Assert.Equal(4, xml.Descendants(vf + "tag").Count());
        Assert.Empty(xml.Descendants(vf + "injected"));
        foreach (var h in _lab.Status.Hosts) Assert.Equal(1, _lab.InHost(h.Name, "test -e /tmp/vf-canary").Code);
        _lab.Shell.Ok("Remove-VfInstance tagged -Confirm:$false");
    }

    private List<Instance> Instances(string script, IDictionary<string, object?> v) => _lab.Shell.Ok(script, v).Select(o => (Instance)o.BaseObject).ToList();

    [Fact]
    public void HandMadeDomainSurvivesGetAndRemove()
    {
        _lab.InHost("vfh1", "printf '%s' \"<domain type='qemu'><name>handmade</name><memory unit='MiB'>32</memory><os><type>hvm</type></os></domain>\" > /tmp/handmade.xml && virsh define /tmp/handmade.xml");
        try
        {
            _lab.Shell.Ok("New-VfInstance -Image vflinux -Name mine -InstanceType t1.micro -Host vfh1 | Out-Null");
            _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");
            Assert.Equal(0, _lab.InHost("vfh1", "virsh domuuid handmade").Code);
            Assert.Equal(1, _lab.InHost("vfh1", "virsh domuuid mine").Code);
            var all = Instances("Get-VfInstance -All -Host vfh1");
            Assert.Contains(all, x => x.Name == "handmade" && !x.IsVirtFleet);
            var r = _lab.Shell.Run("Get-VfInstance handmade -All | Remove-VfInstance -Confirm:$false");
            Assert.StartsWith("NotCreatedByVirtFleet", Assert.Single(r.Errors).FullyQualifiedErrorId);
            Assert.Equal(0, _lab.InHost("vfh1", "virsh domuuid handmade").Code);
        }
        finally
        {
            _lab.InHost("vfh1", "virsh undefine handmade");
        }
    }

    [Fact]
    public void RemovalByNameFindsItsInstancesOnEachHostInOneRoundTrip()
    {
        _lab.InHost("vfh2", "printf '%s' \"<domain type='qemu'><name>byname-theirs</name><memory unit='MiB'>32</memory><os><type>hvm</type></os></domain>\" > /tmp/theirs.xml && virsh define /tmp/theirs.xml");
        try
        {
            Instances("New-VfInstance -Image vflinux -Count 3 -NamePrefix byname -InstanceType t1.micro -NoNetwork -Placement RoundRobin");
            // Asked about each instance (-WhatIf): found first, each named, nothing removed; theirs is refused either way.
            var whatIf = _lab.Shell.Run("Remove-VfInstance 'byname-*' -WhatIf");
            Assert.StartsWith("NotCreatedByVirtFleet", Assert.Single(whatIf.Errors).FullyQualifiedErrorId);
            Assert.Equal(3, Instances("Get-VfInstance 'byname-*'").Count);

            // Nothing to ask: each host finds and removes its own in one round trip, in any case, and leaves a domain
            // VirtFleet did not make.
            var hosts = _lab.Status.Hosts.Select(h => h.Name).ToList();
            var before = CommandsPerHost();
            var r = _lab.Shell.Run("Remove-VfInstance 'BYNAME-*' -Confirm:$false -Verbose");
            var after = CommandsPerHost();
            Assert.All(hosts, h => Assert.Equal(before.GetValueOrDefault(h) + 1, after.GetValueOrDefault(h)));
            // Removed where they were found (no listing first, so no question asked about each).
            Assert.Equal(3, r.Verbose.Count(v => v.Contains(": removed instance byname-", StringComparison.Ordinal)));
            Assert.DoesNotContain(r.Verbose, v => v.Contains("Performing the operation", StringComparison.Ordinal));
            var refused = Assert.Single(r.Errors);
            Assert.StartsWith("NotCreatedByVirtFleet", refused.FullyQualifiedErrorId);
            Assert.Contains("byname-theirs", refused.Exception.Message);
            Assert.Empty(Instances("Get-VfInstance 'byname-*'"));
            Assert.Equal(0, _lab.InHost("vfh2", "virsh domuuid byname-theirs").Code);
            foreach (var h in hosts) Assert.Equal("", _lab.InHost(h, "ls -d /var/lib/libvirt/virtfleet/instances/byname-* 2>/dev/null").Out.Trim());

            // An exact name found nowhere is InstanceNotFound, as before.
            var missing = _lab.Shell.Run("Remove-VfInstance byname-9 -Confirm:$false");
            Assert.StartsWith("InstanceNotFound", Assert.Single(missing.Errors).FullyQualifiedErrorId);
        }
        finally
        {
            _lab.InHost("vfh2", "virsh undefine byname-theirs");
        }

        Dictionary<string, long> CommandsPerHost() => _lab.Shell.Ok("Get-VfConnection")
            .Where(o => o.Properties["Via"]?.Value is null or "session")
            .ToDictionary(o => (string)o.Properties["Host"].Value, o => Convert.ToInt64(o.Properties["Commands"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void LifecycleThroughThePipeline()
    {
        Instances("New-VfInstance -Image vflinux -Name life -InstanceType t1.micro -Tag lifecycle");
        InstanceState State() => Instances("Get-VfInstance life").Single().State;
        _lab.Shell.Ok("Get-VfInstance -Tag lifecycle | Suspend-VfInstance");
        Assert.Equal(InstanceState.Paused, State());
        _lab.Shell.Ok("Get-VfInstance -Tag lifecycle | Resume-VfInstance");
        Assert.Equal(InstanceState.Running, State());
        _lab.Shell.Ok("Stop-VfInstance life -Force");
        Assert.Equal(InstanceState.Stopped, State());
        _lab.Shell.Ok("Stop-VfInstance life -WhatIf; Start-VfInstance life");
        Assert.Equal(InstanceState.Running, State());
        var passthru = Instances("Restart-VfInstance life -Force -PassThru");
        Assert.Equal(InstanceState.Running, Assert.Single(passthru).State);
        _lab.Shell.Ok("Get-VfInstance life | Remove-VfInstance -WhatIf");
        Assert.Single(Instances("Get-VfInstance life"));
        _lab.Shell.Ok("Get-VfInstance life | Remove-VfInstance -Confirm:$false");
        Assert.Empty(Instances("Get-VfInstance life"));
    }

    [Fact]
    public void PipedInstancesKeepTheInventoryTheyWereReadThrough()
    {
        // The lab's hosts under other names, in an inventory that is not the session's.
        var path = Path.Combine(Directory.CreateTempSubdirectory("vf-inv-").FullName, "other.yml");
        File.WriteAllText(path, $"knownHosts: {_lab.Status.KnownHosts}\ndefaultNetwork: vflab\nhosts:\n" + string.Concat(_lab.Status.Hosts.Select(h =>
            $"  - name: other-{h.Name}\n    address: {h.Address}\n    keyFile: {_lab.Status.KeyFile}\n")));
        var vars = new Dictionary<string, object?> { ["inv"] = path };
        var made = _lab.Shell.Ok("New-VfInstance -Image vflinux -Name elsewhere -InstanceType t1.micro -Host other-vfh1 -Inventory $inv", vars)
            .Select(o => (Instance)o.BaseObject).Single();
        Assert.Equal(path, made.Inventory);
        var stopped = _lab.Shell.Ok("Get-VfInstance elsewhere -Inventory $inv | Stop-VfInstance -Force -PassThru", vars)
            .Select(o => (Instance)o.BaseObject).Single();
        Assert.Equal(("other-vfh1", InstanceState.Stopped), (stopped.Host, stopped.State));
        _lab.Shell.Ok("Get-VfInstance elsewhere -Inventory $inv | Remove-VfInstance -Confirm:$false", vars);
        Assert.Empty(_lab.Shell.Ok("Get-VfInstance elsewhere -Inventory $inv", vars));
    }
}
