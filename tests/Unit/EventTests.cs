using System.Diagnostics;
using VirtFleet.Events;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using VirtFleet.Operations;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// Lifecycle events: virsh's lines, libvirt's codes, the virsh source over a stream, the native source over libvirt's test
/// driver, the choice between them, streaming a command on the local transport, Wait and Watch against fake sources.
/// </summary>
[Collection(LibvirtTestDriver.Name)]
public class EventTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public void VirshEventLinesParseToEventsWithTheHostsTimeAndOtherLinesAreNotEvents()
    {
        var e = VirshEventParser.Parse("2026-12-07 06:30:01.123+0000: event 'lifecycle' for domain 'web-1': Started Booted", "h1")!;
        Assert.Equal(("h1", "web-1", DomainEventKind.Started, "Booted", "virsh"), (e.Host, e.Name, e.Kind, e.Detail, e.Source));
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 6, 30, 1, 123, TimeSpan.Zero), e.Time);
        Assert.Equal(InstanceState.Running, e.ResultingState);

        var m = VirshEventParser.Parse("2026-12-07 06:30:02.000+0000: event 'lifecycle' for domain 'db': Stopped Migrated", "h2")!;
        Assert.Equal((DomainEventKind.Stopped, "Migrated"), (m.Kind, m.Detail));
        var g = VirshEventParser.Parse("event 'lifecycle' for domain 'a': Shutdown Finished after guest request", "h1")!;
        Assert.Equal((DomainEventKind.Shutdown, "Guest"), (g.Kind, g.Detail));
        Assert.Equal(InstanceState.ShuttingDown, g.ResultingState);
        Assert.Equal((DomainEventKind.Suspended, "IOError"), Pick(VirshEventParser.Parse("event 'lifecycle' for domain 'x': Suspended I/O Error", "h")!));
        Assert.Equal((DomainEventKind.Crashed, "CrashLoaded"), Pick(VirshEventParser.Parse("event 'lifecycle' for domain 'x': Crashed Crashloaded", "h")!));
        // A name holding quotes and "': " still reads whole: the last "': " ends it.
        Assert.Equal("it's': odd", VirshEventParser.Parse("event 'lifecycle' for domain 'it's': odd': Resumed Unpaused", "h")!.Name);

        Assert.Null(VirshEventParser.Parse("qemu:///system", "h"));
        Assert.Null(VirshEventParser.Parse("events received: 3", "h"));
        Assert.Null(VirshEventParser.Parse("", "h"));
        Assert.Equal(DomainEventKind.Unknown, VirshEventParser.Parse("event 'lifecycle' for domain 'x': Exploded Loudly", "h")!.Kind);

        static (DomainEventKind, string) Pick(DomainEvent e) => (e.Kind, e.Detail);
    }

    [Theory]
    [InlineData(0, 0, "Defined", "Added", "Added")]
    [InlineData(1, 0, "Undefined", "Removed", "Removed")]
    [InlineData(2, 0, "Started", "Booted", "Booted")]
    [InlineData(2, 1, "Started", "Migrated", "Migrated")]
    [InlineData(2, 4, "Started", "Event wakeup", "Wakeup")]
    [InlineData(3, 0, "Suspended", "Paused", "Paused")]
    [InlineData(3, 1, "Suspended", "Migrated", "Migrated")]
    [InlineData(3, 6, "Suspended", "API error", "APIError")]
    [InlineData(4, 0, "Resumed", "Unpaused", "Unpaused")]
    [InlineData(4, 1, "Resumed", "Migrated", "Migrated")]
    [InlineData(5, 0, "Stopped", "Shutdown", "Shutdown")]
    [InlineData(5, 1, "Stopped", "Destroyed", "Destroyed")]
    [InlineData(5, 3, "Stopped", "Migrated", "Migrated")]
    [InlineData(5, 6, "Stopped", "Snapshot", "FromSnapshot")]
    [InlineData(6, 0, "Shutdown", "Finished", "Finished")]
    [InlineData(6, 2, "Shutdown", "Finished after host request", "Host")]
    [InlineData(7, 1, "PMSuspended", "Disk", "Disk")]
    [InlineData(8, 0, "Crashed", "Panicked", "Panicked")]
    public void NativeCodesAndVirshWordsReadTheSame(int type, int detail, string virshKind, string virshDetail, string name)
    {
        var native = DomainEventNames.FromNative(type, detail);
        Assert.Equal(name, native.Detail);
        Assert.Equal(native, DomainEventNames.FromVirsh(virshKind, virshDetail));
        Assert.Equal(virshKind, native.Kind.ToString());
    }

    [Fact]
    public void UnknownNativeCodesAreKeptAsNumbers()
    {
        Assert.Equal((DomainEventKind.Unknown, "42/1"), DomainEventNames.FromNative(42, 1));
        Assert.Equal((DomainEventKind.Started, "9"), DomainEventNames.FromNative(2, 9));
    }

    [Fact]
    public async Task VirshSourceIsLiveAtItsMarkerParsesLinesAndAHostDropEndsTheStreamWithThatHostsError()
    {
        var host = new LineStreamHost("h1", VirshEventSource.ReadyMarker,
            "2026-12-07 06:30:01.123+0000: event 'lifecycle' for domain 'web-1': Started Booted",
            "2026-12-07 06:30:02.123+0000: event 'lifecycle' for domain 'web-1': Suspended Paused")
        { EndWith = new VfException("ConnectionLost", FailureKind.ConnectionError, "h1: the SSH connection dropped", "h1") };
        var stream = await new VirshEventSource(host).SubscribeAsync(None);
        // Fixed text only: no value from a caller reaches the host's shell.
        Assert.Equal([VirshEventSource.Command], host.Commands);
        Assert.Contains("event --loop --event lifecycle --timestamp", host.Commands[0]);
        host.Go.SetResult();
        var got = new List<DomainEvent>();
        var ended = await Assert.ThrowsAsync<VfException>(async () => { await foreach (var e in stream.Events.ReadAllAsync()) got.Add(e); });
        Assert.Equal("ConnectionLost", ended.ErrorId);
        Assert.Equal([DomainEventKind.Started, DomainEventKind.Suspended], got.Select(e => e.Kind));
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task VirshSourceThatNeverGetsReadyIsASubscribeTimeout()
    {
        var host = new LineStreamHost("h1", "error: failed to connect");
        var e = await Assert.ThrowsAsync<VfException>(() => new VirshEventSource(host, TimeSpan.FromMilliseconds(200)).SubscribeAsync(None));
        Assert.Equal(("EventSubscribeTimeout", FailureKind.OperationTimeout), (e.ErrorId, e.Kind));
    }

    [Fact]
    public async Task NativeSourceOverTheTestDriverSeesSuspendResumeStopAndStartAsTheyHappen()
    {
        if (!NativeLibvirt.IsAvailable) return;
        await using var stream = await new NativeEventSource("t1", "test:///default").SubscribeAsync(None);
        Assert.Equal("native", stream.Source);
        using (var c = NativeLibvirtConnection.Open("test:///default"))
        {
            c.Suspend("test");
            c.Resume("test");
            c.Destroy("test");
            c.Start("test");
        }
        var got = new List<DomainEvent>();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (got.Count < 4) got.Add(await stream.Events.ReadAsync(bound.Token));
        Assert.Equal([(DomainEventKind.Suspended, "Paused"), (DomainEventKind.Resumed, "Unpaused"), (DomainEventKind.Stopped, "Destroyed"), (DomainEventKind.Started, "Booted")],
            got.Select(e => (e.Kind, e.Detail)));
        Assert.All(got, e => Assert.Equal(("t1", "test", "native"), (e.Host, e.Name, e.Source)));
        Assert.All(got, e => Assert.NotNull(e.Uuid));
        Assert.Equal(InstanceState.Running, got[^1].ResultingState);
    }

    [Fact]
    public async Task DefaultSourceIsNativeWhileTheHostsNativePathIsUpAndVirshOtherwiseOrWhenNativeFails()
    {
        // On virsh: the virsh source, after the host's libvirt path was brought up.
        var virsh = new LineStreamHost("h1", VirshEventSource.ReadyMarker);
        await using (var s = await DomainEventSources.SubscribeAsync(virsh, None))
            Assert.Equal(("virsh", 1, 1), (s.Source, virsh.Opens, virsh.Commands.Count));
        Assert.IsType<VirshEventSource>(DomainEventSources.For(virsh));
        if (!NativeLibvirt.IsAvailable) return;

        // Native path up: libvirt's events through its URI; nothing runs on the host's shell.
        var native = new LineStreamHost("h2", VirshEventSource.ReadyMarker) { NativeLibvirtUri = "test:///default" };
        await using (var s = await DomainEventSources.SubscribeAsync(native, None))
            Assert.Equal(("native", 0), (s.Source, native.Commands.Count));

        // Native path said up, but a subscription through it fails: virsh event, and the reason is told.
        var broken = new LineStreamHost("h3", VirshEventSource.ReadyMarker)
        {
            NativeLibvirtUri = LibvirtUri.ForSocket(Path.Combine(Path.GetTempPath(), "vf-no-such-" + Guid.NewGuid().ToString("N"), "sock")),
        };
        VfException? why = null;
        await using (var s = await DomainEventSources.SubscribeAsync(broken, None, e => why = e))
            Assert.Equal(("virsh", 1), (s.Source, broken.Commands.Count));
        Assert.NotNull(why);
        Assert.StartsWith("h3:", why!.Message);
    }

    [Fact]
    public async Task LocalHostStreamsACommandsLinesAndCancellingEndsTheCommandOnTheHost()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess) return; // the local transport without sudo
        await using var host = new LocalHost(new HostEntry { Name = "self", Address = "", User = "", Local = true },
            new SshOptions { CommandTimeout = TimeSpan.FromSeconds(20) });
        var tag = "999." + Random.Shared.Next(100000, 999999); // a sleep no one else runs
        var lines = new List<string>();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        // A fixed-text test command: prints two lines, then waits as `virsh event --loop` does.
        var run = host.StreamLinesAsync("sh -c 'echo one; echo two; exec sleep " + tag + "'", l =>
        {
            lock (lines) { lines.Add(l); if (lines.Count == 2) two.TrySetResult(); }
        }, stop.Token);
        await two.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["one", "two"], lines);
        Assert.True(Running(tag), "the streamed command runs");
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        // Nothing is left running (over SSH it is the watcher that ends it when the channel closes: the lab test checks that).
        var clock = Stopwatch.StartNew();
        while (Running(tag) && clock.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(50);
        Assert.False(Running(tag), "the streamed command outlived its cancellation");

        // A command that fails says so, with what it printed on stderr.
        var e = await Assert.ThrowsAsync<VfException>(() => host.StreamLinesAsync("sh -c 'echo no libvirtd >&2; exit 3'", _ => { }, None));
        Assert.Equal(("StreamEnded", FailureKind.ConnectionError), (e.ErrorId, e.Kind));
        Assert.Contains("exit 3", e.Message);
        Assert.Contains("no libvirtd", e.Message);

        // The command and the watcher beside it (whose command line holds the command's text).
        static bool Running(string tag) => Process.GetProcesses().Any(p =>
        {
            try { return p.Id != Environment.ProcessId && File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(tag); } catch (Exception) { return false; }
        });
    }

    [Fact]
    public async Task WaitReturnsOnTheEventAfterOneReadBeforeAndOneAfterNoPolling()
    {
        using var fleet = new OperationsFakeFleet();
        var web = fleet["h1"].Add("web-1", state: "shut off");
        var source = new FakeEventSource("h1");
        var wait = WaitInstances.RunAsync(fleet.Scope, new WaitInstancesRequest
        {
            Names = ["web-1"], SearchHosts = [fleet["h1"].Host], State = InstanceState.Running, Timeout = TimeSpan.FromSeconds(30), Source = _ => source,
        }, None);
        await source.Live;
        await Task.Delay(500);
        // Subscribed, read once, and waiting: no further reads while nothing happens.
        Assert.False(wait.IsCompleted);
        Assert.Single(fleet["h1"].Scripts);
        web.State = "running";
        await source.PostAsync("other", DomainEventKind.Started, "Booted");
        await source.PostAsync("web-1", DomainEventKind.Started, "Booted");
        var ready = Assert.Single(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(("web-1", InstanceState.Running), (ready.Name, ready.State));
        Assert.Equal(2, fleet["h1"].Scripts.Count);
        Assert.Equal((1, 1), (source.Subscriptions, source.Closed));
        Assert.Empty(fleet.Report.Failures);
    }

    [Fact]
    public async Task WaitTimesOutWithOneWaitTimeoutErrorPerInstanceAndNoPolling()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("web-1", state: "shut off");
        fleet["h1"].Add("web-2", state: "paused");
        var source = new FakeEventSource("h1");
        var started = DateTime.UtcNow;
        var ready = await WaitInstances.RunAsync(fleet.Scope, new WaitInstancesRequest
        {
            Instances = (await Instances.InstanceReader.ReadAsync(fleet["h1"], None)).ToList(),
            State = InstanceState.Running, Timeout = TimeSpan.FromMilliseconds(400), Source = _ => source,
        }, None);
        Assert.Empty(ready);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(5));
        Assert.Equal(["web-1", "web-2"], fleet.Report.Failures.Select(f => f.Target).Order());
        Assert.All(fleet.Report.Failures, f => Assert.Equal(("WaitTimeout", FailureKind.OperationTimeout), (f.ErrorId, f.Kind)));
        Assert.Equal(2, fleet["h1"].Scripts.Count); // the test's own read, and the one after subscribing
        Assert.Equal(1, source.Closed);
    }

    [Fact]
    public async Task WaitForAnInstanceAlreadyInTheStateReturnsAtOnce()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h2"].Add("db", state: "running");
        var source = new FakeEventSource("h2");
        var ready = await WaitInstances.RunAsync(fleet.Scope, new WaitInstancesRequest
        {
            Names = ["db", "nowhere"], SearchHosts = fleet.Inventory.Hosts, State = InstanceState.Running, Timeout = TimeSpan.FromSeconds(30),
            Source = r => r.Host.Name == "h2" ? source : new FakeEventSource(r.Host.Name),
        }, None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("db", Assert.Single(ready).Name);
        var missing = Assert.Single(fleet.Report.Failures);
        Assert.Equal(("InstanceNotFound", "nowhere"), (missing.ErrorId, missing.Target));
    }

    [Fact]
    public async Task WaitReportsAnUndefinedInstanceAMoveAwayAndAHostWhoseStreamDrops()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("a", state: "shut off");
        fleet["h1"].Add("b", state: "shut off");
        fleet["h2"].Add("c", state: "shut off");
        var s1 = new FakeEventSource("h1");
        var s2 = new FakeEventSource("h2");
        var wait = WaitInstances.RunAsync(fleet.Scope, new WaitInstancesRequest
        {
            Names = ["a", "b", "c"], SearchHosts = fleet.Inventory.Hosts, State = InstanceState.Running, Timeout = TimeSpan.FromSeconds(30),
            Source = r => r.Host.Name == "h1" ? s1 : s2,
        }, None);
        await s1.PostAsync("a", DomainEventKind.Undefined, "Removed");
        await s1.PostAsync("b", DomainEventKind.Stopped, "Migrated");
        (await s2.Live).End(new VfException("LibvirtKeepaliveTimeout", FailureKind.OperationTimeout, "no keepalive answer", "qemu+ssh://x"));
        Assert.Empty(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        var byTarget = fleet.Report.Failures.ToDictionary(f => f.Target!, f => f.ErrorId);
        Assert.Equal("InstanceVanished", byTarget["a"]);
        Assert.Equal("InstanceMovedAway", byTarget["b"]);
        Assert.Equal("LibvirtKeepaliveTimeout", byTarget["h2"]);
    }

    [Fact]
    public async Task WatchPassesFilteredEventsWithInstanceIdsAndAHostThatCannotSubscribeIsOneError()
    {
        using var fleet = new OperationsFakeFleet(3);
        var web = fleet["h1"].Add("web-1");
        fleet["h2"].Add("db-1");
        var s1 = new FakeEventSource("h1");
        var s2 = new FakeEventSource("h2");
        var s3 = new FakeEventSource("h3") { Refuse = new VfException("ConnectionRefused", FailureKind.ConnectionError, "refused", "h3") };
        var got = new List<DomainEvent>();
        var subscribed = new List<string>();
        var watch = WatchEvents.RunAsync(fleet.Scope, new WatchEventsRequest
        {
            Hosts = fleet.Inventory.Hosts, Names = ["web*", "db-1"], Kinds = [DomainEventKind.Started, DomainEventKind.Stopped], MaxEvents = 3,
            Source = r => r.Host.Name switch { "h1" => s1, "h2" => s2, _ => s3 },
        }, e => got.Add(e), None, (h, _) => { lock (subscribed) subscribed.Add(h); });
        await s1.PostAsync("web-1", DomainEventKind.Started, "Booted");
        await s1.PostAsync("web-1", DomainEventKind.Suspended, "Paused");   // not a wanted kind
        await s2.PostAsync("other", DomainEventKind.Started, "Booted");     // not a wanted name
        await s2.PostAsync("db-1", DomainEventKind.Stopped, "Destroyed");
        await s1.PostAsync("web-1", DomainEventKind.Stopped, "Shutdown");
        await s1.PostAsync("web-1", DomainEventKind.Started, "Booted");     // past MaxEvents
        await watch.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, got.Count);
        Assert.All(got, e => Assert.Contains(e.Name, new[] { "web-1", "db-1" }));
        Assert.Equal(web.InstanceId, got.First(e => e.Name == "web-1").InstanceId);
        Assert.Equal(["h1", "h2"], subscribed.Order());
        var e3 = Assert.Single(fleet.Report.Failures);
        Assert.Equal(("ConnectionRefused", "h3"), (e3.ErrorId, e3.Target));
        Assert.Equal((1, 1), (s1.Closed, s2.Closed));
    }

    [Fact]
    public async Task WatchEndsAtItsTimeoutAndAStreamThatDropsIsThatHostsErrorWhileOthersGoOn()
    {
        using var fleet = new OperationsFakeFleet();
        var s1 = new FakeEventSource("h1");
        var s2 = new FakeEventSource("h2");
        var got = new List<DomainEvent>();
        var watch = WatchEvents.RunAsync(fleet.Scope, new WatchEventsRequest
        {
            Hosts = fleet.Inventory.Hosts, Timeout = TimeSpan.FromSeconds(1), Source = r => r.Host.Name == "h1" ? s1 : s2,
        }, e => { lock (got) got.Add(e); }, None);
        (await s1.Live).End(new VfException("ConnectionLost", FailureKind.ConnectionError, "h1: dropped", "h1"));
        await Task.Delay(100);
        await s2.PostAsync("x", DomainEventKind.Started, "Booted");
        await watch.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("x", Assert.Single(got).Name);
        Assert.Equal(("ConnectionLost", "h1"), (fleet.Report.Failures.Single().ErrorId, fleet.Report.Failures.Single().Target));
    }
}
