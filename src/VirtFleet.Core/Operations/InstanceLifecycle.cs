using System.Collections.Concurrent;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Events;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>Instances to act on: objects as read (each names its host), and names or ids (wildcards) looked up on hosts.</summary>
public sealed class InstanceActionRequest
{
    public InstanceAction Action { get; init; }
    /// <summary>Instances as read (Get-VfInstance, a playbook's fleet state): acted on where they are.</summary>
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    /// <summary>Instance names or ids (wildcards), looked up on <see cref="SearchHosts"/>; an exact name found nowhere is InstanceNotFound.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>Act on domains VirtFleet did not create too (and, for Stop/Restart, power off or reset at once).</summary>
    public bool Force { get; init; }
    /// <summary>Stop: seconds to wait for a clean shutdown before forcing the instance off.</summary>
    public int TimeoutSeconds { get; init; } = 60;
    /// <summary>
    /// Stop: where a host's clean shutdown is waited for on its lifecycle events (null for a host: the host script's own
    /// wait). Default: <see cref="ShutdownOnEvents.NativeSource"/>, the host's native path while it is up.
    /// </summary>
    public Func<IRemoteHost, IDomainEventSource?>? ShutdownEvents { get; init; }
    /// <summary>
    /// Start: above 0, the instances started are then waited for, off the host lock, until each runs and, where it has a NIC,
    /// holds a DHCP lease (as New-VfInstance -Wait), up to this many seconds, and read back; one still without an address
    /// is a warning. 0: no wait.
    /// </summary>
    public int WaitSeconds { get; init; }
}

public enum InstanceActionStatus { Done, Failed, Skipped }

/// <summary>What happened to one instance: done (with the instance as it is afterwards, none after a removal), failed (the error, also reported), or skipped (declined).</summary>
public sealed record InstanceActionOutcome(string Host, string Name, InstanceActionStatus Status, Instance? Target, Instance? After = null, VfException? Error = null);

/// <summary>
/// Start, stop, restart, suspend, resume (and, through <see cref="RemoveInstances"/>, remove) instances: grouped by host, one
/// round trip per host under the host lock, hosts in parallel. Domains VirtFleet did not create are refused unless Force.
/// After a start or stop of instances in security groups, their hosts' firewalls follow (the host's network state is read
/// in the action's own round trip): a started instance has new taps, a stopped one freed its taps.
/// </summary>
public static class InstanceLifecycle
{
    /// <summary>
    /// Runs the action; <paramref name="onDone"/> gets each instance it succeeded on as its host answers (a worker thread, one
    /// at a time). The result has one outcome per instance found (not found, refused, failed: also reported as failures).
    /// </summary>
    public static async Task<InstanceActionResult> RunAsync(FleetScope scope, InstanceActionRequest request, CancellationToken ct,
        Action<InstanceActionOutcome>? onDone = null)
    {
        var (outcomes, states) = await ActAsync(scope, request, ct, onDone,
            targets => request.Action is InstanceAction.Start or InstanceAction.Stop && targets.Any(t => t.SecurityGroups.Count > 0));
        if (outcomes.Any(o => o.Status == InstanceActionStatus.Done))
        {
            // The hosts' firewalls follow: a started instance has new taps (its default deny was put on them before it
            // ran), a stopped one freed its taps, which libvirt gives to the next guest that starts.
            var parsed = new Dictionary<string, HostNetworkState>();
            foreach (var (host, state) in states)
            {
                try { parsed[host] = state.Value; }
                catch (VfException e) { scope.Report.Failure(FleetScope.OnHost(e, host)); }
            }
            if (parsed.Count > 0) await new FleetNetworking(scope).ReconcileHostsAsync(parsed, ct);
        }
        return new InstanceActionResult(outcomes);
    }

    /// <summary>
    /// The action itself: finds named instances, refuses what is not VirtFleet's without Force, asks before each, then one
    /// round trip per host (a <see cref="HostBatch"/>) with, where <paramref name="readNetworkState"/> says so for the host's targets,
    /// a read of the host's network state after the action; returns the outcomes and those typed reads per host.
    /// </summary>
    internal static async Task<(IReadOnlyList<InstanceActionOutcome> Outcomes, IReadOnlyDictionary<string, HostOutput<HostNetworkState>> NetworkStates)> ActAsync(
        FleetScope scope, InstanceActionRequest request, CancellationToken ct, Action<InstanceActionOutcome>? onDone, Func<IReadOnlyList<Instance>, bool> readNetworkState)
    {
        var verb = request.Action.ToString();
        var outcomes = new List<InstanceActionOutcome>();
        var targets = await ListInstances.ResolveAsync(scope, request.Instances, request.Names, request.SearchHosts, ct);
        var inv = scope.Inventory;

        var byHost = new Dictionary<string, List<Instance>>();
        foreach (var i in targets.DistinctBy(i => (i.Host, i.Name)))
        {
            if (!i.IsVirtFleet && !request.Force)
            {
                var e = new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation,
                    $"{i.Host}: {i.Name} was not created by VirtFleet; it is left alone (use -Force to {verb.ToLowerInvariant()} it).", i.Name);
                scope.Report.Failure(e);
                outcomes.Add(new(i.Host, i.Name, InstanceActionStatus.Failed, i, Error: e));
                continue;
            }
            if (!scope.Report.ShouldProcess($"{i.Name} on {i.Host}", $"{verb} instance"))
            {
                outcomes.Add(new(i.Host, i.Name, InstanceActionStatus.Skipped, i));
                continue;
            }
            (byHost.TryGetValue(i.Host, out var l) ? l : byHost[i.Host] = []).Add(i);
        }
        var hosts = inv.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList();
        foreach (var missing in byHost.Keys.Where(k => hosts.All(h => h.Name != k)))
        {
            var e = new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{missing}' is not in {inv.Path}.", missing);
            scope.Report.Failure(e);
            outcomes.AddRange(byHost[missing].Select(i => new InstanceActionOutcome(i.Host, i.Name, InstanceActionStatus.Failed, i, Error: e)));
        }
        var states = new ConcurrentDictionary<string, HostOutput<HostNetworkState>>();
        await scope.ForEachHostAsync(hosts, $"{verb} instances", async (remote, c) =>
            {
                var timeout = request.TimeoutSeconds;
                // A clean stop on events: shutdown asked of every instance at once, their Stopped events awaited off the host
                // lock; the round trip below then powers off what did not stop in time (timeout 0) and reads back.
                if (request.Action == InstanceAction.Stop && !request.Force && timeout > 0
                    && await ShutdownOnEvents.RunAsync(scope, remote, byHost[remote.Host.Name], TimeSpan.FromSeconds(timeout),
                        request.ShutdownEvents ?? ShutdownOnEvents.NativeSource, c))
                    timeout = 0;
                // The action and, when asked for, a read of the host's network state after it: one round trip.
                var batch = new HostBatch();
                var acted = batch.Add(InstanceActions.Step(request.Action,
                    byHost[remote.Host.Name].Select(i => new InstanceActions.Target(i.Name, i.InstanceId)).ToList(), timeout, request.Force));
                if (readNetworkState(byHost[remote.Host.Name])) states[remote.Host.Name] = batch.Add(HostNetworkState.ReadStep());
                await batch.RunAsync(remote, c);
                return request.Action == InstanceAction.Start && request.WaitSeconds > 0
                    ? await WaitReadyAsync(scope, remote, acted.Value, request.WaitSeconds, c)
                    : acted.Value;
            }, ct,
            (host, results) =>
            {
                foreach (var o in results)
                {
                    var target = byHost[host.Name].FirstOrDefault(i => i.Name == o.Name);
                    if (o.Error is not null)
                    {
                        scope.Report.Failure(o.Error);
                        outcomes.Add(new(host.Name, o.Name, InstanceActionStatus.Failed, target, o.Instance, o.Error));
                        continue;
                    }
                    var done = new InstanceActionOutcome(host.Name, o.Name, InstanceActionStatus.Done, target, o.Instance);
                    outcomes.Add(done);
                    onDone?.Invoke(done);
                }
            },
            (host, error) =>
            {
                var e = FleetScope.OnHost(error, host.Name);
                scope.Report.Failure(e);
                outcomes.AddRange(byHost[host.Name].Select(i => new InstanceActionOutcome(host.Name, i.Name, InstanceActionStatus.Failed, i, Error: e)));
            });
        return (outcomes, states);
    }

    /// <summary>The instances a start succeeded on, waited for until they run and hold their leases, as they are then.</summary>
    private static async Task<IReadOnlyList<InstanceActions.Outcome>> WaitReadyAsync(FleetScope scope, IRemoteHost remote,
        IReadOnlyList<InstanceActions.Outcome> acted, int seconds, CancellationToken ct)
    {
        var started = acted.Where(o => o.Error is null && o.Instance is not null).Select(o => o.Instance!).ToList();
        if (started.Count == 0) return acted;
        var ready = await InstanceWaiter.WaitAsync(remote, started, seconds, ct);
        foreach (var i in ready.Values.Where(i => i.MacAddresses.Count > i.Addresses.Count || i.State != InstanceState.Running))
            scope.Report.Warning($"{remote.Host.Name}: {i.Name} is {i.State}{(i.MacAddresses.Count > i.Addresses.Count ? " without an address" : "")} after waiting {seconds} s");
        return acted.Select(o => o.Instance is not null && ready.TryGetValue(o.Name, out var now) ? o with { Instance = now } : o).ToList();
    }
}

/// <summary>What happened to each instance.</summary>
public sealed record InstanceActionResult(IReadOnlyList<InstanceActionOutcome> Outcomes)
{
    public IEnumerable<InstanceActionOutcome> Done => Outcomes.Where(o => o.Status == InstanceActionStatus.Done);
}
