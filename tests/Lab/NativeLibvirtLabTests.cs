using System.Diagnostics;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// The LibvirtNative path against the lab hosts' real libvirtd, reached through each host's UNIX socket as the root
/// namespace sees it (&lt;state&gt;/hosts/vfh&lt;i&gt;/fs/run/libvirt/libvirt-sock: the host's /run), so no SSH. What it
/// reads and does must agree with virsh inside the host.
/// </summary>
[Collection("lab3")]
public class NativeLibvirtLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly ITestOutputHelper _out;
    private readonly List<string> _created = [];

    public NativeLibvirtLabTests(ThreeHostLab lab, ITestOutputHelper output)
    {
        _lab = lab;
        _out = output;
        Assert.True(NativeLibvirt.IsAvailable, "the lab machine has libvirt.so.0 (the lab runs libvirtd from it)");
        _lab.Shell.Ok("if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose()
    {
        if (_created.Count > 0)
            _lab.Shell.Run("Get-VfInstance -Name $n | Remove-VfInstance -Confirm:$false", new Dictionary<string, object?> { ["n"] = _created.ToArray() });
    }

    private string Socket(string host) => Path.Combine(_lab.Status.StateDir, "hosts", host, "fs", "run", "libvirt", "libvirt-sock");

    private List<Instance> Create(string host, string prefix, int count)
    {
        var made = _lab.Shell.Ok($"New-VfInstance -Image vflinux -Count {count} -InstanceType t1.micro -Host {host} -NamePrefix {prefix}")
            .Select(o => (Instance)o.BaseObject).ToList();
        _created.AddRange(made.Select(i => i.Name));
        Assert.Equal(count, made.Count);
        return made;
    }

    /// <summary>name|uuid|state for every domain, as virsh inside the host sees them.</summary>
    private SortedSet<string> VirshDomains(string host)
    {
        var (code, text) = _lab.InHost(host,
            "virsh list --all --name | while read -r d; do [ -n \"$d\" ] && echo \"$d|$(virsh domuuid \"$d\" | head -1)|$(virsh domstate \"$d\" | head -1)\"; done; true");
        Assert.True(code == 0, text);
        return new SortedSet<string>(text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
    }

    private string VirshState(string host, string name) => _lab.InHost(host, $"virsh domstate {name}").Out.Trim();

    [Fact]
    public void NativeListingAgreesWithVirshAndLifecycleActionsShowInVirsh()
    {
        var sw = Stopwatch.StartNew();
        var mine = Create("vfh1", "nat", 2);
        var other = Create("vfh2", "natb", 1);
        _out.WriteLine($"created 3 instances in {sw.ElapsedMilliseconds} ms");

        using var c1 = NativeLibvirtConnection.OpenSocket(Socket("vfh1"));
        using var c2 = NativeLibvirtConnection.OpenSocket(Socket("vfh2"));
        Assert.Equal("vfh1", c1.Hostname);          // the daemon of that host, not this machine's
        Assert.Equal("vfh2", c2.Hostname);

        foreach (var (host, c) in new[] { ("vfh1", c1), ("vfh2", c2) })
        {
            var native = c.ListDomains(includeXml: true);
            var nativeRows = new SortedSet<string>(native.Select(d => $"{d.Name}|{d.Uuid}|{d.LibvirtState}"), StringComparer.Ordinal);
            Assert.Equal(VirshDomains(host), nativeRows);
            Assert.All(native, d => Assert.Contains($"<name>{d.Name}</name>", d.Xml));
        }
        var names1 = c1.ListDomains().Select(d => d.Name).ToList();
        Assert.All(mine, i => Assert.Contains(i.Name, names1));
        Assert.DoesNotContain(other[0].Name, names1);

        // Memory and vCPUs as virsh dominfo reports them; the state and UUID as VirtFleet's own listing has them.
        var a = mine[0];
        var d1 = c1.GetDomain(a.Name);
        var dominfo = _lab.InHost("vfh1", $"virsh dominfo {a.Name}").Out;
        Assert.Contains($"CPU(s):         {d1.Vcpus}", dominfo);
        Assert.Contains($"Used memory:    {d1.MemoryKiB} KiB", dominfo);
        Assert.Contains($"Max memory:     {d1.MaxMemoryKiB} KiB", dominfo);
        Assert.Equal(InstanceState.Running, d1.State);
        Assert.Equal(a.State, d1.State);
        Assert.Equal(_lab.InHost("vfh1", $"virsh dumpxml {a.Name}").Out.Trim(), c1.GetDomainXml(a.Name).Trim());

        // Lifecycle through the native path; virsh (and VirtFleet's virsh-based listing) agree after each step.
        c1.Suspend(a.Name);
        Assert.Equal("paused", VirshState("vfh1", a.Name));
        Assert.Equal(InstanceState.Paused, ((Instance)_lab.Shell.Ok($"Get-VfInstance {a.Name}").Single().BaseObject).State);
        c1.Resume(a.Name);
        Assert.Equal("running", VirshState("vfh1", a.Name));
        c1.Destroy(a.Name);
        Assert.Equal("shut off", VirshState("vfh1", a.Name));
        Assert.Equal(InstanceState.Stopped, c1.GetDomain(a.Name, includeXml: false).State);
        c1.Start(a.Name);
        Assert.Equal("running", VirshState("vfh1", a.Name));

        // Errors come back as VfExceptions with libvirt's words.
        var again = Assert.Throws<VfException>(() => c1.Start(a.Name));
        Assert.Equal("LibvirtOperationInvalid", again.ErrorId);
        Assert.Contains("already running", again.Message);
        var missing = Assert.Throws<VfException>(() => c1.Suspend(other[0].Name)); // it lives on vfh2
        Assert.Equal("LibvirtDomainNotFound", missing.ErrorId);
        Assert.Equal(FailureKind.ObjectNotFound, missing.Kind);

        // Networks: the lab's vflab network, active, as virsh net-list has it.
        var nets = c1.ListNetworks();
        var virshNets = _lab.InHost("vfh1", "virsh net-list --all --name").Out
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order().ToList();
        Assert.Equal(virshNets, nets.Select(n => n.Name).Order().ToList());
        Assert.True(nets.Single(n => n.Name == "vflab").Active);
        _out.WriteLine($"whole test {sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task TheNativeListingKeepsEachDomainsXmlUntilAnEventOfIt()
    {
        var host = _lab.Status.Hosts[2].Name;
        var name = Create(host, "nvkeep", 1)[0].Name;
        using var c = NativeLibvirtConnection.OpenSocket(Socket(host));
        using var b = new Transport.NativeBackend(host, c, TimeSpan.FromSeconds(30));
        var ct = CancellationToken.None;
        string Xml(IReadOnlyList<Transport.LibvirtDomain> list) => list.Single(d => d.Name == name).Xml;

        var first = await b.ListDomainsAsync(ct);
        Assert.True(b.XmlReads >= first.Count && first.Count >= 1);
        // Nothing changed: the listing is the states' one call, every XML kept.
        var reads = b.XmlReads;
        Assert.Equal(Xml(first), Xml(await b.ListDomainsAsync(ct)));
        Assert.Equal(reads, b.XmlReads);

        // Another client changes the domain (a metadata event, then a lifecycle one): the listing reads it afresh.
        Assert.Equal(0, _lab.InHost(host, $"virsh desc {name} --live --config --new-desc changed-by-another-client").Code);
        Assert.Contains("changed-by-another-client", await XmlWhen(() => b.ListDomainsAsync(ct), Xml, x => x.Contains("changed-by-another-client")));
        Assert.Equal(0, _lab.InHost(host, $"virsh suspend {name}").Code);
        var paused = await b.ListDomainsAsync(ct);
        Assert.Equal("paused", paused.Single(d => d.Name == name).State); // the state is never kept
        Assert.Equal(0, _lab.InHost(host, $"virsh resume {name}").Code);

        // A change this process makes (a locked script says so through IRemoteHost.LibvirtChanged, which calls
        // Changed(null)) forgets everything kept: the next listing reads every XML.
        var count = (await b.ListDomainsAsync(ct)).Count;
        reads = b.XmlReads;
        b.Changed(null);
        Assert.Equal(count, (await b.ListDomainsAsync(ct)).Count);
        Assert.Equal(reads + count, b.XmlReads);
    }

    /// <summary>Lists until <paramref name="ok"/> holds for the domain's XML (events come within milliseconds; 10 s at most).</summary>
    private static async Task<string> XmlWhen(Func<Task<IReadOnlyList<Transport.LibvirtDomain>>> list, Func<IReadOnlyList<Transport.LibvirtDomain>, string> xml, Func<string, bool> ok)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var x = xml(await list());
            if (ok(x) || DateTime.UtcNow > until) return x;
            await Task.Delay(20);
        }
    }

    [Fact]
    public void ABogusSocketIsACleanConnectFailure()
    {
        var bogus = Path.Combine(_lab.Status.StateDir, "hosts", "vfh1", "fs", "run", "libvirt", "no-such-sock");
        var e = Assert.Throws<VfException>(() => NativeLibvirtConnection.OpenSocket(bogus));
        Assert.Equal("LibvirtConnectFailed", e.ErrorId);
        Assert.Equal(FailureKind.ConnectionError, e.Kind);
        Assert.Contains("no-such-sock", e.Message);
        // A socket that is there but is not libvirtd's (virtlogd's speaks another RPC program): still a clean
        // VfException, never a crash.
        var notQemu = Path.Combine(_lab.Status.StateDir, "hosts", "vfh1", "fs", "run", "libvirt", "virtlogd-sock");
        var e2 = Assert.Throws<VfException>(() => { using var c = NativeLibvirtConnection.OpenSocket(notQemu); c.ListDomains(); });
        Assert.StartsWith("Libvirt", e2.ErrorId);
        _out.WriteLine($"{e.ErrorId}: {e.Message}\n{e2.ErrorId}: {e2.Message}");
    }
}
