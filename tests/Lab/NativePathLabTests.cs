using System.Diagnostics;
using System.Text.Json;
using VirtFleet.LibvirtNative;
using VirtFleet.Migration;
using VirtFleet.Model;
using VirtFleet.Networking;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// The same scenarios through the native libvirt path (libvirt.so here, virt-ssh-helper on the host over the pooled SSH
/// connection) and through virsh over SSH, chosen by $env:VF_LIBVIRT: every listing along the way is read both ways and must
/// give the same Get-VfInstance objects; each scenario's outcome (the states it passes through) is the same on either path.
/// </summary>
[Collection("lab3")]
public class NativePathLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly ITestOutputHelper _out;
    private readonly List<string> _created = [];

    public NativePathLabTests(ThreeHostLab lab, ITestOutputHelper output)
    {
        _lab = lab;
        _out = output;
        Assert.True(NativeLibvirt.IsAvailable, "the lab machine has libvirt.so.0");
        _lab.Shell.Ok("if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("VF_LIBVIRT", null);
        Environment.SetEnvironmentVariable(NativeLibvirt.LibraryVariable, null);
        if (_created.Count > 0)
            _lab.Shell.Run("Get-VfInstance -Name $n | Remove-VfInstance -Confirm:$false", new Dictionary<string, object?> { ["n"] = _created.ToArray() });
    }

    private static void UsePath(string path) => Environment.SetEnvironmentVariable("VF_LIBVIRT", path);

    private string PathOf(string host) =>
        (string)_lab.Shell.Ok("Get-VfConnection").Single(o => (string)o.Properties["Host"].Value == host).Properties["Libvirt"].Value;

    /// <summary>The path a listing with the current $env:VF_LIBVIRT takes (Both leaves the connection on native).</summary>
    private string PathAfterListing(string host)
    {
        _lab.Shell.Ok($"Get-VfInstance -Host {host} | Out-Null");
        return PathOf(host);
    }

    private string NoteOf(string host) =>
        (string)_lab.Shell.Ok("Get-VfConnection").Single(o => (string)o.Properties["Host"].Value == host).Properties["LibvirtNote"].Value;

    /// <summary>Lists until the host's native path is up (the first listing brings it up in the background).</summary>
    private void WaitNative(string host)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            _lab.Shell.Ok($"Get-VfInstance -Host {host} | Out-Null");
            if (PathOf(host) == "native") return;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{host} did not come up native: {NoteOf(host)}");
            Thread.Sleep(200);
        }
    }

    /// <summary>The instances of the given names on a host as JSON, one per instance, in name order (every property compared).</summary>
    private List<string> List(string host, IEnumerable<string> names)
    {
        var wanted = names.ToHashSet();
        return _lab.Shell.Ok($"Get-VfInstance -Host {host}").Select(o => (Instance)o.BaseObject).Where(i => wanted.Contains(i.Name))
            .OrderBy(i => i.Name, StringComparer.Ordinal).Select(i => JsonSerializer.Serialize(i)).ToList();
    }

    /// <summary>The host's listing through virsh and then through native: the same objects; returns them.</summary>
    private List<string> Both(string host, IReadOnlyList<string> names, string? now = null)
    {
        UsePath("virsh");
        var virsh = List(host, names);
        Assert.Equal("virsh", PathOf(host));
        UsePath("native");
        WaitNative(host);
        var native = List(host, names);
        Assert.Equal("native", PathOf(host));
        Assert.Equal(virsh, native);
        if (now is not null) UsePath(now);
        return native;
    }

    private List<string> States(string host, IReadOnlyList<string> names) =>
        _lab.Shell.Ok($"Get-VfInstance -Host {host}").Select(o => (Instance)o.BaseObject).Where(i => names.Contains(i.Name))
            .OrderBy(i => i.Name, StringComparer.Ordinal).Select(i => i.State.ToString()).ToList();

    /// <summary>create, list, stop, start, suspend, resume, remove on one host, every step through one path.</summary>
    private List<string> InstanceScenario(string path, string host)
    {
        UsePath(path);
        var prefix = "np" + path[0];
        var names = _lab.Shell.Ok($"New-VfInstance -Image vflinux -Count 2 -InstanceType t1.micro -Host {host} -NamePrefix {prefix}")
            .Select(o => ((Instance)o.BaseObject).Name).Order(StringComparer.Ordinal).ToList();
        _created.AddRange(names);
        var seen = new List<string>();
        void Step(string what, string? command)
        {
            if (command is not null) _lab.Shell.Ok(command, new Dictionary<string, object?> { ["n"] = names.ToArray() });
            Both(host, names, now: path);
            seen.Add(what + ":" + string.Join(",", States(host, names)));
        }
        Step("created", null);
        Step("stopped", "Stop-VfInstance -Name $n -Force");
        Step("started", "Start-VfInstance -Name $n");
        Step("suspended", "Suspend-VfInstance -Name $n");
        Step("resumed", "Resume-VfInstance -Name $n");
        _lab.Shell.Ok("Remove-VfInstance -Name $n -Confirm:$false", new Dictionary<string, object?> { ["n"] = names.ToArray() });
        Assert.Empty(List(host, names));
        seen.Add("removed");
        _out.WriteLine($"{path}: {string.Join(" ", seen)}");
        return seen;
    }

    [Fact]
    public void InstanceScenarioGivesTheSameResultsThroughNativeAndVirsh()
    {
        var virsh = InstanceScenario("virsh", "vfh1");
        var native = InstanceScenario("native", "vfh1");
        Assert.Equal(virsh, native);
        Assert.Equal(["created:Running,Running", "stopped:Stopped,Stopped", "started:Running,Running", "suspended:Paused,Paused",
            "resumed:Running,Running", "removed"], native);
        Assert.Equal("native", PathOf("vfh1"));
        Assert.Contains("virt-ssh-helper", NoteOf("vfh1"));
    }

    private static List<Instance> Instances(IEnumerable<string> json) => json.Select(j => JsonSerializer.Deserialize<Instance>(j)!).ToList();

    /// <summary>
    /// New-VfNetwork (NAT, a /29 on one host), two instances on it, their listing, stop, start, removal of the instances and of
    /// the network, every step through one path and every listing read both ways. What is recorded leaves out what differs
    /// by run (MACs, names): networks, address counts, whether each address is the network's, states, reservations.
    /// </summary>
    private List<string> NetworkScenario(string path, string host)
    {
        UsePath(path);
        const string net = "np-net";
        var subnet = VfNetwork.ParseSubnet("203.0.113.224/29");
        var seen = new List<string>();
        var made = _lab.Shell.Ok($"New-VfNetwork -Name {net} -Mode Nat -Subnet {subnet} -Host {host}").Select(o => (VfNetwork)o.BaseObject).Single();
        seen.Add($"network:{made.Mode},{made.Subnet},{string.Join("+", made.Hosts)}");
        var names = _lab.Shell.Ok($"New-VfInstance -Image vflinux -Count 2 -Network {net} -InstanceType t1.micro -Host {host} -NamePrefix npn{path[0]}")
            .Select(o => ((Instance)o.BaseObject).Name).Order(StringComparer.Ordinal).ToList();
        _created.AddRange(names);
        string Describe(IEnumerable<string> json) => string.Join(" ", Instances(json).Select(i =>
            $"{i.State}/{string.Join("+", i.Networks)}/{i.MacAddresses.Count} MAC/" +
            string.Join("+", i.Addresses.Select(a => VfNetwork.Contains(subnet, System.Net.IPAddress.Parse(a)) ? "in-subnet" : "other:" + a))));
        void Step(string what, string? command)
        {
            if (command is not null) _lab.Shell.Ok(command, new Dictionary<string, object?> { ["n"] = names.ToArray() });
            seen.Add(what + ":" + Describe(Both(host, names, now: path)));
        }
        string Reserved()
        {
            var r = _lab.Shell.Ok($"Get-VfNetwork {net}").Select(o => (VfNetwork)o.BaseObject).Single().Reservations;
            return $"{r.Count(x => names.Contains(x.Instance))} of ours, {r.Select(x => x.Address).Distinct().Count()} addresses, " +
                $"all in subnet {r.All(x => VfNetwork.Contains(subnet, System.Net.IPAddress.Parse(x.Address)))}, on {string.Join("+", r.Select(x => x.Host).Distinct())}";
        }
        Step("created", null);
        seen.Add("reserved:" + Reserved());
        Step("stopped", "Stop-VfInstance -Name $n -Force");
        Step("started", "Start-VfInstance -Name $n");
        _lab.Shell.Ok("Remove-VfInstance -Name $n -Confirm:$false", new Dictionary<string, object?> { ["n"] = names.ToArray() });
        Assert.Empty(Both(host, names, now: path));
        seen.Add("instances removed, reserved:" + Reserved());
        _lab.Shell.Ok($"Remove-VfNetwork {net} -Confirm:$false");
        Assert.Empty(_lab.Shell.Ok($"Get-VfNetwork {net}*")); // a pattern: no NetworkNotFound when there is none
        seen.Add("network removed");
        Assert.Equal(path, PathAfterListing(host));
        _out.WriteLine($"{path}: {string.Join(" | ", seen)}");
        return seen;
    }

    [Fact]
    public void NetworkScenarioGivesTheSameResultsThroughNativeAndVirsh()
    {
        try
        {
            var virsh = NetworkScenario("virsh", "vfh2");
            var native = NetworkScenario("native", "vfh2");
            Assert.Equal(virsh, native);
            Assert.Equal("network:Nat,203.0.113.224/29,vfh2", native[0]);
            Assert.Equal("created:Running/np-net/1 MAC/in-subnet Running/np-net/1 MAC/in-subnet", native[1]);
            Assert.StartsWith("reserved:2 of ours, 2 addresses, all in subnet True", native[2]);
            Assert.StartsWith("stopped:Stopped/np-net/1 MAC", native[3]);
            Assert.Equal("instances removed, reserved:0 of ours, 0 addresses, all in subnet True, on ", native[^2]);
        }
        finally
        {
            UsePath("virsh");
            _lab.Shell.Run("Get-VfInstance -Name npn* | Remove-VfInstance -Confirm:$false; Remove-VfNetwork np-net -Confirm:$false");
        }
    }

    /// <summary>
    /// A live move vfh1 -> vfh3 and, stopped, an offline move back, with both hosts on one path: the instance is listed the
    /// same both ways before and after each move, on exactly one host, keeping its UUID, id, name and MAC.
    /// </summary>
    private List<string> MigrationScenario(string path)
    {
        UsePath(path);
        var name = "npmig" + path[0];
        var seen = new List<string>();
        _lab.Shell.Ok($"New-VfInstance -Image vflinux -Name {name} -InstanceType t1.micro -Host vfh1 | Out-Null");
        _created.Add(name);
        var was = Instances(Both("vfh1", [name], now: path)).Single();
        seen.Add($"created:vfh1:{was.State}");
        void Check(string what, string on, string off, InstanceState state)
        {
            Assert.Empty(Both(off, [name], now: path));
            var now = Instances(Both(on, [name], now: path)).Single();
            Assert.Equal((was.Uuid, was.InstanceId, was.Name), (now.Uuid, now.InstanceId, now.Name));
            Assert.Equal(was.MacAddresses, now.MacAddresses);
            Assert.Equal(path, PathAfterListing(on));
            Assert.Equal(path, PathAfterListing(off));
            seen.Add($"{what}:{on}:{now.State}:same identity");
            Assert.Equal(state, now.State);
        }
        var live = _lab.Shell.Ok($"Move-VfInstance {name} -Destination vfh3").Select(o => (MigrationResult)o.BaseObject).Single();
        seen.Add("mode:" + live.Mode);
        // Set to native, the live move is driven from here over both native connections; otherwise the source's virsh does it.
        Assert.Equal(path, live.Libvirt);
        Check("moved live", "vfh3", "vfh1", InstanceState.Running);
        _lab.Shell.Ok($"Stop-VfInstance {name} -Force");
        var offline = _lab.Shell.Ok($"Move-VfInstance {name} -Destination vfh1").Select(o => (MigrationResult)o.BaseObject).Single();
        seen.Add("mode:" + offline.Mode);
        Check("moved offline", "vfh1", "vfh3", InstanceState.Stopped);
        _lab.Shell.Ok($"Remove-VfInstance {name} -Confirm:$false");
        Assert.Empty(Both("vfh1", [name], now: path));
        seen.Add("removed");
        _out.WriteLine($"{path}: {string.Join(" | ", seen)}");
        return seen;
    }

    [Fact]
    public void MigrationScenarioGivesTheSameResultsThroughNativeAndVirsh()
    {
        var virsh = MigrationScenario("virsh");
        var native = MigrationScenario("native");
        Assert.Equal(virsh, native);
        Assert.Equal(["created:vfh1:Running", "mode:Live", "moved live:vfh3:Running:same identity", "mode:Offline",
            "moved offline:vfh1:Stopped:same identity", "removed"], native);
    }

    [Fact]
    public void WithoutLibvirtSoHereHostsWorkThroughVirshAndSayWhy()
    {
        var name = _lab.Shell.Ok("New-VfInstance -Image vflinux -InstanceType t1.micro -Host vfh3 -NamePrefix npabs")
            .Select(o => ((Instance)o.BaseObject).Name).Single();
        _created.Add(name);
        var native = Both("vfh3", [name]);
        Environment.SetEnvironmentVariable(NativeLibvirt.LibraryVariable, "/nonexistent/libvirt.so.0");
        UsePath("auto");
        _lab.Shell.Ok("Disconnect-VfHost");
        for (var i = 0; i < 3; i++) Assert.Equal(native, List("vfh3", [name]));
        Assert.Equal("virsh", PathOf("vfh3"));
        Assert.Contains("libvirt.so is not available", NoteOf("vfh3"));
    }
}
