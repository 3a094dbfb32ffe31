using System.Text.RegularExpressions;
using VirtFleet.Events;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// Stop-VfInstance's clean shutdown on lifecycle events (where the host has an event source): every shutdown asked in one
/// round trip, the Stopped events awaited off the host lock, then the stop's own round trip with no wait left (powers off
/// only what did not stop, reads back). Without events, or when subscribing fails, the host script waits as before.
/// </summary>
public class ShutdownOnEventsTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Regex StopLine = new(@"(?m)^(?:vf_beside )?vf_act stop (\S+) \S+ [01] (\S+) ([01])$");

    private static List<(string Name, string Timeout)> Stops(string script) =>
        StopLine.Matches(script).Select(m => (m.Groups[1].Value.Trim('\''), m.Groups[2].Value.Trim('\''))).ToList();

    /// <summary>The test's own wait for the operation to reach a point (the operation itself never polls).</summary>
    private static async Task Until(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition()) { Assert.True(DateTime.UtcNow < until, "timed out"); await Task.Delay(20); }
    }

    [Fact]
    public async Task ShutdownsAreAskedAtOnceAndTheStopReturnsOnTheirStoppedEvents()
    {
        using var fleet = new OperationsFakeFleet(1);
        var h = fleet["h1"];
        var a = h.Add("a");
        var b = h.Add("b");
        h.Add("c", state: "shut off");
        var source = new FakeEventSource("h1");
        var listed = (await InstanceReader.ReadAsync(h, None)).ToList();
        var run = InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Stop, Instances = listed, TimeoutSeconds = 30, ShutdownEvents = _ => source,
        }, None);
        await Until(() => h.Scripts.Count >= 2);
        // Subscribed first, then one round trip asks all three (c is off already) and returns without waiting.
        Assert.Equal(1, source.Subscriptions);
        Assert.Equal(3, Regex.Matches(h.Scripts[1], @"(?m)^vf_act shutdown ").Count);
        Assert.Contains("flock", h.Scripts[1]);
        Assert.Equal(("in shutdown", "in shutdown"), (a.State, b.State));
        await Task.Delay(300);
        Assert.False(run.IsCompleted);
        Assert.Equal(2, h.Scripts.Count); // waiting on events: nothing runs on the host meanwhile

        a.State = "shut off";
        await source.PostAsync("a", DomainEventKind.Stopped, "Shutdown");
        await source.PostAsync("other", DomainEventKind.Stopped, "Shutdown");
        await Task.Delay(100);
        Assert.False(run.IsCompleted);
        b.State = "shut off";
        await source.PostAsync("b", DomainEventKind.Stopped, "Shutdown");
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["a", "b", "c"], result.Done.Select(o => o.Name).Order());
        Assert.All(result.Done, o => Assert.Equal(InstanceState.Stopped, o.After!.State));
        // The stop's own round trip follows with no wait left (timeout 0), and reads back.
        Assert.Equal(3, h.Scripts.Count);
        Assert.Equal([("a", "0"), ("b", "0"), ("c", "0")], Stops(h.Scripts[2]).Order());
        Assert.Equal(1, source.Closed);
        Assert.Empty(fleet.Report.Failures);
        Assert.Contains(fleet.Report.VerboseLines, l => l.Contains("waiting up to 30 s for their Stopped events (fake)"));
    }

    [Fact]
    public async Task WhatDoesNotStopInTimeIsPoweredOffByTheStopsRoundTrip()
    {
        using var fleet = new OperationsFakeFleet(1);
        var h = fleet["h1"];
        h.Add("slow");
        var source = new FakeEventSource("h1");
        var started = DateTime.UtcNow;
        var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Stop, Names = ["slow"], SearchHosts = fleet.Inventory.Hosts, TimeoutSeconds = 1, ShutdownEvents = _ => source,
        }, None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8));
        Assert.Equal(InstanceState.Stopped, Assert.Single(result.Done).After!.State);
        // listing, shutdown, then the stop with no wait left (vf_stop: not off, so destroyed at once)
        Assert.Equal(3, h.Scripts.Count);
        Assert.Equal([("slow", "0")], Stops(h.Scripts[2]));
        Assert.Contains(fleet.Report.VerboseLines, l => l.Contains("slow did not shut down within 1 s: powered off"));
    }

    [Fact]
    public async Task WithoutEventsOrWhenSubscribingFailsTheHostWaitsAsBefore()
    {
        foreach (var source in new IDomainEventSource?[]
                 { null, new FakeEventSource("h1") { Refuse = new VfException("LibvirtConnectFailed", FailureKind.ConnectionError, "no", "h1") } })
        {
            using var fleet = new OperationsFakeFleet(1);
            var h = fleet["h1"];
            h.Add("a");
            var listed = (await InstanceReader.ReadAsync(h, None)).ToList();
            var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
            {
                Action = InstanceAction.Stop, Instances = listed, TimeoutSeconds = 45, ShutdownEvents = _ => source,
            }, None);
            Assert.Equal(InstanceState.Stopped, Assert.Single(result.Done).After!.State);
            Assert.Equal(2, h.Scripts.Count);
            Assert.Equal([("a", "45")], Stops(h.Scripts[1]));
            Assert.DoesNotContain("vf_act shutdown", h.Scripts[1]);
        }
    }

    [Fact]
    public async Task ForceAndHostsWithoutTheNativePathNeverSubscribe()
    {
        using var fleet = new OperationsFakeFleet(1);
        fleet["h1"].Add("a");
        var source = new FakeEventSource("h1");
        var listed = (await InstanceReader.ReadAsync(fleet["h1"], None)).ToList();
        await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Stop, Instances = listed, Force = true, ShutdownEvents = _ => source,
        }, None);
        Assert.Equal(0, source.Subscriptions);
        // The default source: only a host whose native path is up (a fake host is on virsh).
        Assert.Null(ShutdownOnEvents.NativeSource(fleet["h1"]));
        Assert.Null(ShutdownOnEvents.NativeSource(new LineStreamHost("h2")));
    }
}
