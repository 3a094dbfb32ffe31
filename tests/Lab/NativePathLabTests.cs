using System.Diagnostics;
using System.Text.Json;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
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

    [Fact]
    public void NetworkScenarioListsTheSameAddressesThroughNativeAndVirsh()
    {
        try
        {
            _lab.Shell.Ok("New-VfNetwork -Name np-net -Mode Nat -Subnet 203.0.113.224/29 -Host vfh2 | Out-Null");
            var names = _lab.Shell.Ok("New-VfInstance -Image vflinux -Count 2 -Network np-net -InstanceType t1.micro -Host vfh2 -NamePrefix npnet")
                .Select(o => ((Instance)o.BaseObject).Name).Order(StringComparer.Ordinal).ToList();
            _created.AddRange(names);
            var listed = Both("vfh2", names).Select(j => JsonSerializer.Deserialize<Instance>(j)!).ToList();
            Assert.All(listed, i =>
            {
                Assert.Contains("np-net", i.Networks);
                Assert.NotEmpty(i.MacAddresses);
                Assert.NotEmpty(i.Addresses); // a reservation before the lease, a lease after
            });
            _lab.Shell.Ok("Remove-VfInstance -Name $n -Confirm:$false", new Dictionary<string, object?> { ["n"] = names.ToArray() });
            Assert.Empty(Both("vfh2", names));
        }
        finally
        {
            _lab.Shell.Run("Remove-VfNetwork np-net -Confirm:$false");
        }
    }

    [Fact]
    public void MigrationScenarioGivesTheSameListingsThroughNativeAndVirsh()
    {
        foreach (var path in new[] { "virsh", "native" })
        {
            UsePath(path);
            var name = "npmig" + path[0];
            _lab.Shell.Ok($"New-VfInstance -Image vflinux -Name {name} -InstanceType t1.micro -Host vfh1 | Out-Null");
            _created.Add(name);
            var before = Both("vfh1", [name], now: path);
            _lab.Shell.Ok($"Move-VfInstance {name} -Destination vfh3 | Out-Null");
            Assert.Empty(Both("vfh1", [name], now: path));
            var after = Both("vfh3", [name], now: path).Select(j => JsonSerializer.Deserialize<Instance>(j)!).Single();
            var was = JsonSerializer.Deserialize<Instance>(before.Single())!;
            Assert.Equal((was.Uuid, was.InstanceId, InstanceState.Running), (after.Uuid, after.InstanceId, after.State));
            _lab.Shell.Ok($"Remove-VfInstance {name} -Confirm:$false");
        }
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
