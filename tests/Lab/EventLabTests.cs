using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using VirtFleet.Events;
using VirtFleet.Inventory;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using VirtFleet.Operations;
using VirtFleet.Transport;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Lifecycle events from two lab hosts: an instance is suspended, resumed, stopped, started and moved live from vfh1 to
/// vfh2 while the events stream, through `virsh event` over SSH (Get-VfEvent in its own runspace, stopped as Ctrl+C
/// stops it, and Register-VfInstanceEvent into PowerShell's event system) and natively (libvirt.so on each host's
/// socket). Wait-VfInstance returns on the event.
/// </summary>
[Collection("lab3")]
public class EventLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly ITestOutputHelper _out;
    private readonly List<string> _created = [];

    public EventLabTests(ThreeHostLab lab, ITestOutputHelper output)
    {
        _lab = lab;
        _out = output;
        _lab.Shell.Ok("if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose()
    {
        if (_created.Count > 0)
            _lab.Shell.Run("Get-VfInstance -Name $n | Remove-VfInstance -Force -Confirm:$false", new Dictionary<string, object?> { ["n"] = _created.ToArray() });
    }

    private Instance Create(string name, string host)
    {
        _created.Add(name);
        return (Instance)_lab.Shell.Ok($"New-VfInstance -Image vflinux -InstanceType t1.micro -Host {host} -Name {name}").Single().BaseObject;
    }

    private string Socket(string host) => Path.Combine(_lab.Status.StateDir, "hosts", host, "fs", "run", "libvirt", "libvirt-sock");

    /// <summary>Suspend, resume, stop, start, then a live move to vfh2, through the cmdlets; Wait-VfInstance after the start.</summary>
    private void Exercise(string name)
    {
        _lab.Shell.Ok($"Suspend-VfInstance {name}; Resume-VfInstance {name}; Stop-VfInstance {name} -Force; Start-VfInstance {name}");
        var clock = Stopwatch.StartNew();
        var running = (Instance)_lab.Shell.Ok($"Wait-VfInstance {name} -State Running -Timeout 60").Single().BaseObject;
        Assert.Equal(InstanceState.Running, running.State);
        _lab.Shell.Ok($"Move-VfInstance {name} -Destination vfh2");
        _out.WriteLine($"{name}: actions and move in {clock.Elapsed.TotalSeconds:0.0} s after the start");
    }

    private static readonly (string Host, DomainEventKind Kind, string Detail)[] Expected =
    [
        ("vfh1", DomainEventKind.Suspended, "Paused"), ("vfh1", DomainEventKind.Resumed, "Unpaused"),
        ("vfh1", DomainEventKind.Stopped, "Destroyed"), ("vfh1", DomainEventKind.Started, "Booted"),
        ("vfh1", DomainEventKind.Stopped, "Migrated"), ("vfh2", DomainEventKind.Started, "Migrated"),
    ];

    private void AssertSeen(IEnumerable<DomainEvent> events, string name, string? instanceId, string path)
    {
        var mine = events.Where(e => e.Name == name).ToList();
        foreach (var e in mine) _out.WriteLine($"{path}: {e.Time:HH:mm:ss.fff} {e.Host} {e.Kind} {e.Detail} {e.InstanceId} ({e.Source})");
        foreach (var x in Expected)
            Assert.True(mine.Any(e => e.Host == x.Host && e.Kind == x.Kind && e.Detail == x.Detail), $"{path}: no {x.Kind} {x.Detail} on {x.Host}");
        Assert.All(mine, e => Assert.Equal(path == "native" ? "native" : "virsh", e.Source));
        if (instanceId is not null) Assert.Contains(mine, e => e.InstanceId == instanceId);
    }

    private static bool Eventually(Func<bool> condition, TimeSpan bound)
    {
        var until = DateTime.UtcNow + bound;
        while (!condition())
        {
            if (DateTime.UtcNow > until) return false;
            Thread.Sleep(100); // the test's own wait for what the streams deliver; the product never polls
        }
        return true;
    }

    [Fact]
    public void GetVfEventAndRegisterVfInstanceEventShowStartSuspendResumeStopAndMigrateFromTwoHostsThroughVirsh()
    {
        var made = Create("evv-a", "vfh1");

        // Get-VfEvent streams in its own runspace until stopped (as Ctrl+C stops it).
        var iss = InitialSessionState.CreateDefault2();
        using var runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"Import-Module '{PowerShellHost.ModuleManifest}'; Get-VfEvent -Inventory '{_lab.Status.Inventory}' -Host vfh1, vfh2 -Name evv-* -Verbose");
        var streamed = new PSDataCollection<PSObject>();
        var input = new PSDataCollection<PSObject>();
        input.Complete();
        var running = ps.BeginInvoke(input, streamed);
        Assert.True(Eventually(() => ps.Streams.Verbose.Count(v => v.Message.Contains("subscribed")) == 2 || running.IsCompleted, TimeSpan.FromSeconds(30)),
            "Get-VfEvent did not subscribe to both hosts");
        Assert.False(running.IsCompleted, string.Join("\n", ps.Streams.Error));
        Assert.All(ps.Streams.Verbose.Where(v => v.Message.Contains("subscribed")), v => Assert.Contains("(virsh)", v.Message));

        // Register-VfInstanceEvent: returns once both hosts are subscribed; Get-Event reads what came.
        _lab.Shell.Ok("Register-VfInstanceEvent -SourceIdentifier vf-evtest -Host vfh1, vfh2 -Name evv-*");
        try
        {
            Exercise("evv-a");
            var events = () => streamed.Select(o => (DomainEvent)o.BaseObject).ToList();
            Assert.True(Eventually(() => events().Any(e => e is { Host: "vfh2", Kind: DomainEventKind.Started }), TimeSpan.FromSeconds(20)), "no start on vfh2 streamed");
            AssertSeen(events(), "evv-a", made.InstanceId, "virsh Get-VfEvent");

            List<DomainEvent> registered = [];
            Assert.True(Eventually(() =>
            {
                registered = _lab.Shell.Ok("Get-Event -SourceIdentifier vf-evtest | ForEach-Object { $_.SourceEventArgs.Event }")
                    .Select(o => (DomainEvent)o.BaseObject).ToList();
                return registered.Any(e => e is { Host: "vfh2", Kind: DomainEventKind.Started });
            }, TimeSpan.FromSeconds(20)), "no start on vfh2 in Get-Event");
            AssertSeen(registered, "evv-a", made.InstanceId, "virsh Register-VfInstanceEvent");
            // Wait-Event returns a queued one at once.
            Assert.Single(_lab.Shell.Ok("Wait-Event -SourceIdentifier vf-evtest -Timeout 5"));
        }
        finally
        {
            _lab.Shell.Run("Unregister-Event -SourceIdentifier vf-evtest; Remove-Event -SourceIdentifier vf-evtest -ErrorAction SilentlyContinue");
            var clock = Stopwatch.StartNew();
            ps.Stop();
            _out.WriteLine($"Get-VfEvent stopped in {clock.ElapsedMilliseconds} ms");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Get-VfEvent took {clock.Elapsed} to stop");
        }
    }

    [Fact]
    public async Task NativeEventsShowTheSameFromTwoHostsAndWaitReturnsOnTheEvent()
    {
        Assert.True(NativeLibvirt.IsAvailable, "the lab machine has libvirt.so.0");
        var made = Create("evn-a", "vfh1");
        var inv = HostInventory.Load(_lab.Status.Inventory);
        await using var pool = new ConnectionPool();
        var options = new SshOptions { KnownHostsPath = inv.KnownHosts ?? _lab.Status.KnownHosts };
        var report = new RecordingReporter();
        var scope = new FleetScope(inv, h => pool.Get(h, options), report);
        IDomainEventSource Native(IRemoteHost r) => new NativeEventSource(r.Host.Name, LibvirtUri.ForSocket(Socket(r.Host.Name)));
        var hosts = inv.Hosts.Where(h => h.Name is "vfh1" or "vfh2").ToList();

        var events = new ConcurrentQueue<DomainEvent>();
        var subscribed = new ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();
        var watch = WatchEvents.RunAsync(scope, new WatchEventsRequest { Hosts = hosts, Names = ["evn-*"], Source = Native },
            events.Enqueue, stop.Token, (h, s) => subscribed[h] = s);
        Assert.True(Eventually(() => subscribed.Count == 2 || watch.IsCompleted, TimeSpan.FromSeconds(30)), "native subscriptions did not come up");
        Assert.All(subscribed.Values, s => Assert.Equal("native", s));

        Exercise("evn-a");
        Assert.True(Eventually(() => events.Any(e => e is { Host: "vfh2", Kind: DomainEventKind.Started }), TimeSpan.FromSeconds(20)), "no native start on vfh2");
        AssertSeen(events, "evn-a", made.InstanceId, "native");
        Assert.All(events.Where(e => e.Name == "evn-a"), e => Assert.NotNull(e.Uuid));

        // Wait (native): subscribed, read once, then the destroy happens 2 s later on the host; the wait returns on its event.
        var clock = Stopwatch.StartNew();
        var wait = WaitInstances.RunAsync(scope, new WaitInstancesRequest
        {
            Names = ["evn-a"], SearchHosts = hosts, State = InstanceState.Stopped, Timeout = TimeSpan.FromSeconds(60), Source = Native,
        }, CancellationToken.None);
        await Task.Delay(2000);
        Assert.False(wait.IsCompleted);
        var destroyed = clock.Elapsed;
        Assert.Equal(0, _lab.InHost("vfh2", "virsh destroy evn-a").Code);
        var stopped = Assert.Single(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
        _out.WriteLine($"Wait-VfInstance (native) returned {(clock.Elapsed - destroyed).TotalMilliseconds:0} ms after the destroy");
        Assert.Equal((InstanceState.Stopped, "vfh2"), (stopped.State, stopped.Host));
        Assert.Empty(report.Failures);

        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watch.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void WaitVfInstanceReturnsOnTheEventAndTimesOutWithItsErrorId()
    {
        Create("evw-a", "vfh1");
        var clock = Stopwatch.StartNew();
        // The instance is stopped on the host 2 s after the wait began: the wait returns on that event.
        var stopper = Task.Run(() => { Thread.Sleep(2000); return (clock.Elapsed, _lab.InHost("vfh1", "virsh destroy evw-a")); });
        var got = _lab.Shell.Ok("Wait-VfInstance evw-a -Host vfh1 -State Stopped -Timeout 60").Select(o => (Instance)o.BaseObject).Single();
        var (at, (code, text)) = stopper.Result;
        Assert.True(code == 0, text);
        _out.WriteLine($"Wait-VfInstance (virsh) returned {(clock.Elapsed - at).TotalMilliseconds:0} ms after the destroy");
        Assert.Equal(InstanceState.Stopped, got.State);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2));

        var r = _lab.Shell.Run("Get-VfInstance evw-a | Wait-VfInstance -State Running -Timeout 2");
        var e = Assert.Single(r.Errors);
        Assert.Equal("WaitTimeout,VirtFleet.Cmdlets.Commands.WaitVfInstanceCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
        Assert.Empty(r.Output);
    }
}
