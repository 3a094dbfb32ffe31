using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using VirtFleet.Events;
using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Lifecycle events from two lab hosts: an instance is suspended, resumed, stopped, started and moved live from vfh1 to
/// vfh2 while the events stream (Get-VfEvent in its own runspace, stopped as Ctrl+C stops it, and Register-VfInstanceEvent
/// into PowerShell's event system), through `virsh event` over SSH and through the native path (libvirt.so here,
/// virt-ssh-helper over the pooled SSH connection). Wait-VfInstance returns on the event, on either path.
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
        Log("fixture ready");
        _lab.Shell.Ok("if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
    }

    public void Dispose()
    {
        Log("dispose");
        Environment.SetEnvironmentVariable("VF_LIBVIRT", null);
        if (_created.Count > 0)
            _lab.Shell.Run("Get-VfInstance -Name $n | Remove-VfInstance -Force -Confirm:$false", new Dictionary<string, object?> { ["n"] = _created.ToArray() });
    }

    private Instance Create(string name, string host)
    {
        Log($"create {name} on {host}");
        _created.Add(name);
        return (Instance)_lab.Shell.Ok($"New-VfInstance -Image vflinux -InstanceType t1.micro -Host {host} -Name {name}").Single().BaseObject;
    }

    /// <summary>Suspend, resume, stop, start, then a live move to vfh2, through the cmdlets; Wait-VfInstance after the start.</summary>
    private void Exercise(string name)
    {
        _lab.Shell.Ok($"Suspend-VfInstance {name}; Resume-VfInstance {name}; Stop-VfInstance {name} -Force; Start-VfInstance {name}");
        Log($"{name}: suspended, resumed, stopped, started");
        var clock = Stopwatch.StartNew();
        var running = (Instance)_lab.Shell.Ok($"Wait-VfInstance {name} -State Running -Timeout 60").Single().BaseObject;
        Assert.Equal(InstanceState.Running, running.State);
        Log($"{name}: running; move");
        _lab.Shell.Ok($"Move-VfInstance {name} -Destination vfh2");
        _out.WriteLine($"{name}: actions and move in {clock.Elapsed.TotalSeconds:0.0} s after the start");
    }

    private static readonly (string Host, DomainEventKind Kind, string Detail)[] Expected =
    [
        ("vfh1", DomainEventKind.Suspended, "Paused"), ("vfh1", DomainEventKind.Resumed, "Unpaused"),
        ("vfh1", DomainEventKind.Stopped, "Destroyed"), ("vfh1", DomainEventKind.Started, "Booted"),
        ("vfh1", DomainEventKind.Stopped, "Migrated"), ("vfh2", DomainEventKind.Started, "Migrated"),
    ];

    private void AssertSeen(IEnumerable<DomainEvent> events, string name, string? instanceId, string path, string how)
    {
        var mine = events.Where(e => e.Name == name).ToList();
        foreach (var e in mine) _out.WriteLine($"{path} {how}: {e.Time:HH:mm:ss.fff} {e.Host} {e.Kind} {e.Detail} {e.InstanceId} ({e.Source})");
        foreach (var x in Expected)
            Assert.True(mine.Any(e => e.Host == x.Host && e.Kind == x.Kind && e.Detail == x.Detail), $"{path} {how}: no {x.Kind} {x.Detail} on {x.Host}");
        Assert.All(mine, e => Assert.Equal(path, e.Source));
        if (path == "native") Assert.All(mine, e => Assert.NotNull(e.Uuid));
        if (instanceId is not null) Assert.Contains(mine, e => e.InstanceId == instanceId);
    }

    /// <summary>Each step with its time, also to a file that a run cut short still leaves behind.</summary>
    private void Log(string step)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {step}";
        _out.WriteLine(line);
        try { File.AppendAllText("/tmp/events-lab-progress.log", line + "\n"); } catch (IOException) { }
    }

    /// <summary>
    /// What a collection of a running pipeline holds now, read by index: its enumerator blocks while the pipeline may still
    /// add to it.
    /// </summary>
    private static List<T> Snapshot<T>(PSDataCollection<T> c) => Enumerable.Range(0, c.Count).Select(i => c[i]).ToList();

    /// <summary>Runs a script in the given runspace; its errors fail the test.</summary>
    private static List<PSObject> In(Runspace rs, string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = rs;
        var output = ps.AddScript(script).Invoke().ToList();
        Assert.True(ps.Streams.Error.Count == 0, string.Join("\n", ps.Streams.Error.Select(e => e.ToString())));
        return output;
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

    /// <summary>
    /// Get-VfEvent (in its own runspace, stopped as Ctrl+C stops it) and Register-VfInstanceEvent on vfh1 and vfh2 through
    /// the path $env:VF_LIBVIRT names, while an instance is suspended, resumed, stopped, started and moved live to vfh2;
    /// Wait-VfInstance after the start, and after that a Wait-VfInstance -State Stopped that returns on the host's destroy.
    /// </summary>
    private void StreamScenario(string path, string name)
    {
        if (path == "native") Assert.True(NativeLibvirt.IsAvailable, "the lab machine has libvirt.so.0");
        Environment.SetEnvironmentVariable("VF_LIBVIRT", path);
        var made = Create(name, "vfh1");

        var iss = InitialSessionState.CreateDefault2();
        var runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();
        var events2 = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        events2.Open();
        var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"Import-Module '{PowerShellHost.ModuleManifest}'; Get-VfEvent -Inventory '{_lab.Status.Inventory}' -Host vfh1, vfh2 -Name {name} -Verbose");
        var streamed = new PSDataCollection<PSObject>();
        var input = new PSDataCollection<PSObject>();
        input.Complete();
        var clock = Stopwatch.StartNew();
        var running = ps.BeginInvoke(input, streamed);
        Log($"{path}: Get-VfEvent started");
        try
        {
            Assert.True(Eventually(() => Snapshot(ps.Streams.Verbose).Count(v => v.Message.Contains("subscribed")) == 2 || running.IsCompleted, TimeSpan.FromSeconds(30)),
                "Get-VfEvent did not subscribe to both hosts");
            Assert.False(running.IsCompleted, string.Join("\n", Snapshot(ps.Streams.Error)));
            _out.WriteLine($"{path}: Get-VfEvent subscribed to 2 hosts in {clock.ElapsedMilliseconds} ms");
            Assert.All(Snapshot(ps.Streams.Verbose).Where(v => v.Message.Contains("subscribed")), v => Assert.Contains($"({path})", v.Message));

            // Register-VfInstanceEvent: returns once both hosts are subscribed; Get-Event reads what came.
            Log($"{path}: Get-VfEvent subscribed; Register-VfInstanceEvent");
            // In a session of its own, whose event queue (what Get-Event reads) is read through its PSEventManager: a hosted
            // session here has no Utility module, so no Get-Event cmdlet.
            var verbose = In(events2, $"Import-Module '{PowerShellHost.ModuleManifest}'; Register-VfInstanceEvent -Inventory '{_lab.Status.Inventory}' -SourceIdentifier vf-evtest -Host vfh1, vfh2 -Name {name} -Verbose 4>&1");
            Assert.Equal(2, verbose.Count(o => o.ToString().Contains($"subscribed to lifecycle events ({path})")));

            Log($"{path}: exercise");
            Exercise(name);
            Log($"{path}: exercised");
            var events = () => Snapshot(streamed).Select(o => (DomainEvent)o.BaseObject).ToList();
            Assert.True(Eventually(() => events().Any(e => e is { Host: "vfh2", Kind: DomainEventKind.Started }), TimeSpan.FromSeconds(20)), "no start on vfh2 streamed");
            AssertSeen(events(), name, made.InstanceId, path, "Get-VfEvent");

            List<DomainEvent> registered = [];
            Assert.True(Eventually(() =>
            {
                registered = events2.Events.ReceivedEvents.Cast<PSEventArgs>().Where(e => e.SourceIdentifier == "vf-evtest")
                    .Select(e => ((DomainEventArgs)e.SourceEventArgs).Event).OfType<DomainEvent>().ToList();
                return registered.Any(e => e is { Host: "vfh2", Kind: DomainEventKind.Started });
            }, TimeSpan.FromSeconds(20)), "no start on vfh2 in Get-Event");
            AssertSeen(registered, name, made.InstanceId, path, "Register-VfInstanceEvent");

            Log($"{path}: Wait-VfInstance -State Stopped");
            // Wait-VfInstance: subscribed, read once, then the destroy happens 2 s later on the host; the wait returns on its event.
            var waitClock = Stopwatch.StartNew();
            var stopper = Task.Run(() => { Thread.Sleep(2000); return (waitClock.Elapsed, _lab.InHost("vfh2", $"virsh destroy {name}")); });
            var got = _lab.Shell.Run($"Wait-VfInstance {name} -Host vfh2 -State Stopped -Timeout 60 -Verbose 4>&1");
            var (at, (code, text)) = stopper.Result;
            Assert.True(code == 0, text);
            Assert.Empty(got.Errors);
            var stopped = got.Output.Select(o => o.BaseObject).OfType<Instance>().Single();
            Assert.DoesNotContain(got.Output, o => o.ToString().Contains("native events failed"));
            _out.WriteLine($"{path}: Wait-VfInstance returned {(waitClock.Elapsed - at).TotalMilliseconds:0} ms after the destroy");
            Assert.Equal((InstanceState.Stopped, "vfh2"), (stopped.State, stopped.Host));
            Assert.True(waitClock.Elapsed >= TimeSpan.FromSeconds(2));
        }
        finally
        {
            Log($"{path}: unregister, stop Get-VfEvent");
            try { foreach (var sub in events2.Events.Subscribers.Where(x => x.SourceIdentifier == "vf-evtest").ToList()) events2.Events.UnsubscribeEvent(sub); }
            catch (Exception e) { Log($"unregister: {e.Message}"); }
            events2.Dispose();
            var stopClock = Stopwatch.StartNew();
            // Bounded: a Get-VfEvent that would not stop fails the test instead of hanging the run.
            var stoppedInTime = Task.Run(ps.Stop).Wait(TimeSpan.FromSeconds(30));
            Log($"{path}: Get-VfEvent stopped: {stoppedInTime}");
            if (stoppedInTime) Task.Run(() => { ps.Dispose(); runspace.Dispose(); }).Wait(TimeSpan.FromSeconds(10));
            Assert.True(stoppedInTime, "Get-VfEvent did not stop within 30 s");
            _out.WriteLine($"{path}: Get-VfEvent stopped in {stopClock.ElapsedMilliseconds} ms");
            Assert.True(stopClock.Elapsed < TimeSpan.FromSeconds(10), $"Get-VfEvent took {stopClock.Elapsed} to stop");
        }
        // Nothing of the streams is left on the hosts: no `virsh event` (virsh path), no virt-ssh-helper beyond the
        // session's own native connection (native path).
        foreach (var host in new[] { "vfh1", "vfh2" })
            Assert.True(Eventually(() => _lab.InHost(host, "pgrep -f '[e]vent --loop --event lifecycle'").Code != 0, TimeSpan.FromSeconds(10)),
                $"{host}: a virsh event outlived Get-VfEvent: {_lab.InHost(host, "pgrep -af '[e]vent --loop --event lifecycle'").Out}");
    }

    [Fact]
    public void GetVfEventRegisterVfInstanceEventAndWaitVfInstanceThroughVirsh() => StreamScenario("virsh", "evv-a");

    [Fact]
    public void GetVfEventRegisterVfInstanceEventAndWaitVfInstanceThroughNative() => StreamScenario("native", "evn-a");

    [Fact]
    public void WaitVfInstanceReturnsOnTheEventAndTimesOutWithItsErrorId()
    {
        Create("evw-a", "vfh1");
        var clock = Stopwatch.StartNew();
        // The instance is stopped on the host 2 s after the wait began: the wait returns on that event.
        var stopper = Task.Run(() => { Thread.Sleep(2000); return (clock.Elapsed, _lab.InHost("vfh1", "virsh destroy evw-a")); });
        Log("Wait-VfInstance evw-a");
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

    [Fact]
    public void StopVfInstanceWaitsForTheShutdownOnEventsThroughNative()
    {
        Assert.True(NativeLibvirt.IsAvailable, "the lab machine has libvirt.so.0");
        Environment.SetEnvironmentVariable("VF_LIBVIRT", "native");
        Create("evs-a", "vfh1");
        Create("evs-b", "vfh1");
        // The lab guest ignores ACPI: the host powers each off 2 and 3 s into the stop, as a guest shutting down would end.
        var clock = Stopwatch.StartNew();
        var stopper = Task.Run(() =>
        {
            Thread.Sleep(2000);
            var a = _lab.InHost("vfh1", "virsh destroy evs-a");
            Thread.Sleep(1000);
            return (a, _lab.InHost("vfh1", "virsh destroy evs-b"), clock.Elapsed);
        });
        Log("Stop-VfInstance evs-a, evs-b");
        var r = _lab.Shell.Run("Stop-VfInstance evs-a, evs-b -Timeout 60 -PassThru -Verbose 4>&1");
        Log("stopped");
        var took = clock.Elapsed;
        var (a, b, last) = stopper.Result;
        Assert.True(a.Code == 0 && b.Code == 0, a.Out + b.Out);
        Assert.Empty(r.Errors);
        var lines = r.Output.Where(o => o.BaseObject is not Instance).Select(o => o.ToString()).ToList();
        foreach (var l in lines) _out.WriteLine(l);
        Assert.Contains(lines, l => l.Contains("waiting up to 60 s for their Stopped events (native)"));
        Assert.Contains(lines, l => l.Contains("evs-a stopped (Destroyed)"));
        Assert.Contains(lines, l => l.Contains("evs-b stopped (Destroyed)"));
        Assert.All(r.Output.Select(o => o.BaseObject).OfType<Instance>(), i => Assert.Equal(InstanceState.Stopped, i.State));
        Assert.Equal(2, r.Output.Count(o => o.BaseObject is Instance));
        _out.WriteLine($"Stop-VfInstance returned {(took - last).TotalMilliseconds:0} ms after the last power-off ({took.TotalSeconds:0.0} s in all)");
        Assert.True(took < TimeSpan.FromSeconds(20), $"the stop took {took}");

        // A guest that does not shut down in time is powered off when the timeout passes.
        _lab.Shell.Ok("Start-VfInstance evs-a");
        clock.Restart();
        r = _lab.Shell.Run("Stop-VfInstance evs-a -Timeout 3 -PassThru -Verbose 4>&1");
        Assert.Empty(r.Errors);
        Assert.Contains(r.Output, o => o.ToString().Contains("evs-a did not shut down within 3 s: powered off"));
        Assert.Equal(InstanceState.Stopped, r.Output.Select(o => o.BaseObject).OfType<Instance>().Single().State);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
    }
}
