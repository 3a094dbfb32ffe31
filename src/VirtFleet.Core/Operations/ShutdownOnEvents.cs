using VirtFleet.Events;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>
/// Stop-VfInstance's clean shutdown waited for on lifecycle events instead of the host script polling each instance's state
/// in turn under the host lock: subscribe, ask every instance of the host to shut down in one round trip, then wait (the
/// lock released) for their Stopped events, all instances at once, up to the timeout. What did not stop is powered off by
/// the stop's usual round trip that follows (with no wait left), which also reads the instances back.
/// </summary>
public static class ShutdownOnEvents
{
    /// <summary>The default: libvirt's events through the host's native path, brought up if the host uses it; null on virsh.</summary>
    public static IDomainEventSource? NativeSource(IRemoteHost remote) =>
        remote.NativeLibvirtUri is not null && DomainEventSources.For(remote) is NativeEventSource native ? native : null;

    /// <summary>
    /// True when the shutdown was asked and waited for on events (the caller then powers off with no further wait); false
    /// when the host has no event source here, or it could not subscribe, or the stream dropped while waiting: the caller
    /// stops the usual way (the host script asks and waits).
    /// </summary>
    public static async Task<bool> RunAsync(FleetScope scope, IRemoteHost remote, IReadOnlyList<Instance> instances, TimeSpan timeout,
        Func<IRemoteHost, IDomainEventSource?> events, CancellationToken ct)
    {
        var host = remote.Host.Name;
        await remote.OpenLibvirtAsync(ct);
        if (events(remote) is not { } source) return false;
        DomainEventStream stream;
        try { stream = await source.SubscribeAsync(ct); }
        catch (VfException e) when (!ct.IsCancellationRequested)
        {
            scope.Report.Verbose($"{host}: no lifecycle events ({e.Message}); the host waits for the shutdown itself");
            return false;
        }
        await using (stream)
        {
            // Subscribed before the shutdown is asked: no Stopped event can be missed.
            var asked = await InstanceActions.ShutdownStep(instances.Select(i => new InstanceActions.Target(i.Name, i.InstanceId)).ToList())
                .RunAsync(remote, ct);
            // Refusals (another domain under the name, not VirtFleet's) are reported by the stop's own round trip.
            var pending = asked.Where(o => o.Error is null && o.Instance is { } i && i.State != InstanceState.Stopped)
                .Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            if (pending.Count == 0) return true;
            scope.Report.Verbose($"{host}: shutdown asked of {string.Join(", ", pending.Order())}; waiting up to {timeout.TotalSeconds:0.#} s for their Stopped events ({stream.Source})");
            var (end, why) = await stream.DrainAsync(e =>
            {
                if (e.Kind is DomainEventKind.Stopped or DomainEventKind.Undefined && pending.Remove(e.Name))
                    scope.Report.Verbose($"{host}: {e.Name} stopped ({e.Detail})");
                return pending.Count == 0;
            }, timeout, ct);
            if (end == DrainEnd.TimedOut)
                scope.Report.Verbose($"{host}: {string.Join(", ", pending.Order())} did not shut down within {timeout.TotalSeconds:0.#} s: powered off");
            if (end == DrainEnd.StreamEnded)
            {
                scope.Report.Verbose($"{host}: the lifecycle events stopped ({why?.Message ?? "the stream ended"}); the host waits for the shutdown itself");
                return false;
            }
            return true;
        }
    }
}
