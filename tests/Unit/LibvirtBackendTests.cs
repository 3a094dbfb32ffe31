using VirtFleet.Instances;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The per-host libvirt path: the choice, the native backend (over libvirt's test driver), and listings through it.</summary>
[Collection(LibvirtTestDriver.Name)]
public class LibvirtBackendTests
{
    [Theory]
    [InlineData(null, null, LibvirtPreference.Auto)]
    [InlineData(null, "virsh", LibvirtPreference.Virsh)]
    [InlineData(null, "NATIVE", LibvirtPreference.Native)]
    [InlineData(null, "bogus", LibvirtPreference.Auto)]
    [InlineData("virsh", "native", LibvirtPreference.Virsh)]   // the host's own setting wins
    [InlineData("auto", "virsh", LibvirtPreference.Virsh)]     // auto on the host leaves it to the environment
    [InlineData("native", null, LibvirtPreference.Native)]
    public void PreferenceIsTheHostsElseTheEnvironmentsElseAuto(string? own, string? env, LibvirtPreference expected) =>
        Assert.Equal(expected, LibvirtChoice.PreferenceFor(new HostEntry { Name = "h", Libvirt = own }, env));

    [Fact]
    public void NativeOnlyWhereTheLibraryIsAndNotAskedAway()
    {
        Assert.Equal((true, "auto"), LibvirtChoice.Decide(LibvirtPreference.Auto, true));
        Assert.False(LibvirtChoice.Decide(LibvirtPreference.Auto, false).Native);
        Assert.Contains("not available", LibvirtChoice.Decide(LibvirtPreference.Native, false).Reason);
        Assert.False(LibvirtChoice.Decide(LibvirtPreference.Virsh, true).Native);
    }

    [Fact]
    public void AHostEntryRefusesAnUnknownPath()
    {
        new HostEntry { Name = "h", Address = "h", Libvirt = "virsh" }.Validate();
        var e = Assert.Throws<VfException>(() => new HostEntry { Name = "h", Address = "h", Libvirt = "ssh;id" }.Validate());
        Assert.Equal("InvalidLibvirtPath", e.ErrorId);
    }

    [Fact]
    public void AMissingLibraryFromTheTestHookMakesTheMachineLookWithoutLibvirt()
    {
        var was = Environment.GetEnvironmentVariable(NativeLibvirt.LibraryVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeLibvirt.LibraryVariable, "/nonexistent/libvirt.so.0");
            Assert.False(NativeLibvirt.IsAvailable);
            Assert.False(LibvirtChoice.For(new HostEntry { Name = "h", Libvirt = "native" }).Native);
        }
        finally { Environment.SetEnvironmentVariable(NativeLibvirt.LibraryVariable, was); }
    }

    [Fact]
    public void TheTunnelsFolderIsNewAndPrivate()
    {
        if (OperatingSystem.IsWindows()) return;
        var a = LibvirtTunnel.PrivateFolder();
        var b = LibvirtTunnel.PrivateFolder();
        try
        {
            Assert.NotEqual(a, b);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(a));
            Assert.True(Path.Combine(a, "libvirt").Length < 100, "a UNIX socket path fits sun_path");
        }
        finally { Directory.Delete(a); Directory.Delete(b); }
    }

    [Fact]
    public void VirshBackendReadsDomainTextsFromTheScriptsOutput()
    {
        var m = new HostScripts.HostMarkers("0123456789abcdef");
        var u = Guid.NewGuid();
        var xml = $"<domain type='qemu'><name>web-1</name><uuid>{u}</uuid><memory unit='KiB'>65536</memory><vcpu>1</vcpu></domain>";
        var d = Assert.Single(InstanceReader.ParseDomainTexts($"{m["DOMAIN"]} {u}running\n{xml}\n", m));
        Assert.Equal(new LibvirtDomain("web-1", u, "running", xml), d);
    }

    /// <summary>A host whose libvirt is the native backend over libvirt's test driver; its shell only serves the lease read.</summary>
    private sealed class NativeTestHost(NativeBackend backend) : IRemoteHost
    {
        public HostEntry Host { get; } = new() { Name = "t1", Address = "198.51.100.11" };
        public ILibvirtBackend Libvirt => backend;
        public int ShellCommands { get; private set; }

        public Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
        {
            ShellCommands++;
            return Task.FromResult(new CommandResult(0, "", ""));
        }
        public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) => throw new NotSupportedException();
    }

    [Fact]
    public async Task ListingGoesThroughTheNativeBackendWithoutTheShell()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open("test:///default");
        var host = new NativeTestHost(new NativeBackend("t1", c, TimeSpan.FromSeconds(10)));
        var listed = Assert.Single(await InstanceReader.ReadAsync(host, CancellationToken.None));
        Assert.Equal(("test", "t1", InstanceState.Running), (listed.Name, listed.Host, listed.State));
        // The shell answers nothing here, so the domain came through libvirt; the shell served at most the lease read.
        Assert.True(host.ShellCommands <= 1);
        var one = await host.Libvirt.GetDomainAsync("test", CancellationToken.None);
        Assert.Equal(listed.Uuid, one!.Uuid);
        Assert.Null(await host.Libvirt.GetDomainAsync("no-such", CancellationToken.None));
    }

    [Fact]
    public async Task NativeBackendActsAndNamesTheHostInItsErrors()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open("test:///default");
        var broken = new List<Exception>();
        var b = new NativeBackend("t1", c, TimeSpan.FromSeconds(10), broken.Add);
        await b.ActAsync("test", LibvirtAction.Suspend, CancellationToken.None);
        Assert.Equal("paused", (await b.GetDomainAsync("test", CancellationToken.None))!.State);
        await b.ActAsync("test", LibvirtAction.Resume, CancellationToken.None);
        var e = await Assert.ThrowsAsync<VfException>(() => b.ActAsync("test", LibvirtAction.Start, CancellationToken.None));
        Assert.Equal("LibvirtCallFailed", e.ErrorId); // the test driver's word for starting a running domain
        Assert.StartsWith("t1:", e.Message);
        e = await Assert.ThrowsAsync<VfException>(() => b.ActAsync("no-such", LibvirtAction.Start, CancellationToken.None));
        Assert.Equal("LibvirtDomainNotFound", e.ErrorId);
        Assert.Empty(broken); // libvirt's refusals are not a broken path
    }
    /// <summary>
    /// A test-driver node of its own (a file URI gives each connection a private copy, unlike test:///default, which
    /// other tests change): domains running, paused and shut off.
    /// </summary>
    private static string NodeFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vf-node-{Guid.NewGuid():N}.xml");
        static string Domain(string name, int state) =>
            $"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>{name}</name><memory>65536</memory>" +
            $"<os><type>hvm</type></os>{(state == 1 ? "" : $"<test:runstate>{state}</test:runstate>")}</domain>";
        File.WriteAllText(path, $"<node>{Domain("a-run", 1)}{Domain("b-paused", 3)}{Domain("c-off", 5)}{Domain("d-run", 1)}</node>");
        return path;
    }

    [Fact]
    public void AllStatesComeInOneListing()
    {
        if (!NativeLibvirt.IsAvailable) return;
        var file = NodeFile();
        try
        {
            using var c = NativeLibvirtConnection.Open("test://" + file);
            var refs = c.ListDomainStates();
            try
            {
                var byName = refs.ToDictionary(r => r.Name, r => NativeDomainStates.ToVirshWord(r.State));
                Assert.Equal(new Dictionary<string, string> { ["a-run"] = "running", ["b-paused"] = "paused", ["c-off"] = "shut off", ["d-run"] = "running" }, byName);
                foreach (var r in refs)
                {
                    Assert.NotEqual(Guid.Empty, r.Uuid);
                    Assert.Contains($"<uuid>{r.Uuid}</uuid>", c.GetXml(r));
                    Assert.Equal(c.GetDomain(r.Name, includeXml: false).LibvirtState, NativeDomainStates.ToVirshWord(r.State));
                }
            }
            finally { foreach (var r in refs) r.Dispose(); }
            // The references were our own: the connection and its domains are still fine after they are gone.
            Assert.Equal(4, c.ListDomains().Count);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task NativeListingHasEveryDomainWithItsStateAndXml()
    {
        if (!NativeLibvirt.IsAvailable) return;
        var file = NodeFile();
        try
        {
            using var c = NativeLibvirtConnection.Open("test://" + file);
            var b = new NativeBackend("t1", c, TimeSpan.FromSeconds(10));
            for (var round = 0; round < 20; round++)
            {
                var listed = await b.ListDomainsAsync(CancellationToken.None);
                Assert.Equal(["a-run", "b-paused", "c-off", "d-run"], listed.Select(d => d.Name).Order());
                foreach (var d in listed)
                {
                    var one = await b.GetDomainAsync(d.Name, CancellationToken.None);
                    Assert.Equal(one, d);
                }
            }
            // Listings at once (each lets go of the domains the one before kept, which another may be reading): all whole.
            var together = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => b.ListDomainsAsync(CancellationToken.None)));
            Assert.All(together, l => Assert.Equal(4, l.Count));
            await b.ActAsync("a-run", LibvirtAction.Suspend, CancellationToken.None);
            Assert.Equal("paused", (await b.ListDomainsAsync(CancellationToken.None)).Single(d => d.Name == "a-run").State);
            b.Dispose();
            c.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => b.ListDomainsAsync(CancellationToken.None));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task BlockingCallsRunTogetherAndIdleThreadsEnd()
    {
        var threads = new LibvirtThreads(8, TimeSpan.FromMilliseconds(300));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var names = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => threads.Run(() => { Thread.Sleep(400); return Environment.CurrentManagedThreadId; })));
        Assert.True(sw.ElapsedMilliseconds < 1500, $"8 calls of 400 ms took {sw.ElapsedMilliseconds} ms: they waited for each other");
        Assert.Equal(8, names.Distinct().Count());
        // More calls than threads: they wait their turn and all finish.
        Assert.Equal(40, (await Task.WhenAll(Enumerable.Range(0, 40).Select(i => threads.Run(() => { Thread.Sleep(5); return i; })))).Distinct().Count());
        Assert.True(threads.Threads <= 8);
        for (var i = 0; i < 40 && threads.Threads > 0; i++) await Task.Delay(100);
        Assert.Equal(0, threads.Threads);
        // And come back when called again.
        Assert.Equal(7, await threads.Run(() => 7));
    }
}
