using VirtFleet.Events;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>
/// Waits until instances reach a state (Wait-VfInstance), on lifecycle events, never by polling: per host it subscribes
/// first, then reads the current state once (so a change between the two is seen either way), then waits for the events
/// that bring each instance to the state, and reads the host once more for the instances as they are. A timeout is one
/// WaitTimeout error per instance still waiting; a host whose stream drops is one error per instance there.
/// </summary>
public static class WaitInstances
{
    /// <summary>Returns the instances that reached the state (also given to <paramref name="onReady"/>, a worker thread, as each host finishes).</summary>
    public static async Task<IReadOnlyList<Instance>> RunAsync(FleetScope scope, WaitInstancesRequest request, CancellationToken ct,
        Action<Instance>? onReady = null)
    {
        // Instances as read wait on their host; names are looked for on every search host.
        var byHost = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var i in request.Instances) (byHost.TryGetValue(i.Host, out var s) ? s : byHost[i.Host] = []).Add(i.Name);
        var hosts = scope.Inventory.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList();
        foreach (var missing in byHost.Keys.Where(k => hosts.All(h => h.Name != k)))
            scope.Report.Failure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{missing}' is not in {scope.Inventory.Path}.", missing));
        if (request.Names.Count > 0) hosts = hosts.UnionBy(request.SearchHosts, h => h.Name).ToList();

        var found = new HashSet<string>(StringComparer.Ordinal);
        var answered = new HashSet<string>(StringComparer.Ordinal);
        var results = new List<Instance>();
        var gate = new object();
        await Task.WhenAll(hosts.Select(h => Task.Run(async () =>
        {
            var ready = await WaitHostAsync(scope, request, h, byHost.GetValueOrDefault(h.Name) ?? [], seen =>
            {
                lock (gate) { found.UnionWith(seen); answered.Add(h.Name); }
            }, ct);
            lock (gate)
            {
                results.AddRange(ready);
                foreach (var i in ready) onReady?.Invoke(i);
            }
        }, CancellationToken.None)));
        ct.ThrowIfCancellationRequested();
        var silent = request.SearchHosts.Select(h => h.Name).Where(h => !answered.Contains(h)).ToList();
        foreach (var n in request.Names.Where(n => !found.Contains(n)))
            scope.Report.Failure(ListInstances.NotFound(n, silent));
        return results;
    }

    /// <summary>True when <paramref name="state"/> counts as <paramref name="wanted"/> (an idle domain is running).</summary>
    public static bool Satisfies(InstanceState? state, InstanceState wanted) =>
        state == wanted || (wanted == InstanceState.Running && state == InstanceState.Blocked);

    private static async Task<List<Instance>> WaitHostAsync(FleetScope scope, WaitInstancesRequest request, HostEntry host,
        HashSet<string> given, Action<IEnumerable<string>> foundNames, CancellationToken ct)
    {
        var done = new List<Instance>();
        var pending = new Dictionary<string, Instance>(StringComparer.Ordinal);
        DomainEventStream? stream = null;
        try
        {
            var remote = scope.Connect(host);
            stream = await DomainEventSources.SubscribeAsync(remote, request.Source, scope.Report.Verbose, ct);
            // Subscribed first: whatever changes from here on is an event, so this one read cannot miss it.
            var now = await InstanceReader.ReadAsync(remote, ct);
            var named = now.Where(i => request.Names.Contains(i.Name) || (i.InstanceId is { } id && request.Names.Contains(id))).ToList();
            foundNames(named.SelectMany(i => i.InstanceId is { } id ? new[] { i.Name, id } : [i.Name]));
            foreach (var name in given.Where(g => now.All(i => i.Name != g)))
                scope.Report.Failure(new VfException("InstanceNotFound", FailureKind.ObjectNotFound, $"{host.Name}: no instance '{name}'.", name));
            var reached = new List<string>();
            foreach (var i in now.Where(i => given.Contains(i.Name)).Concat(named).DistinctBy(i => i.Name))
                if (Satisfies(i.State, request.State)) done.Add(i);
                else pending[i.Name] = i;
            if (pending.Count == 0) return done;

            var (end, why) = await stream.DrainAsync(e =>
            {
                if (!pending.ContainsKey(e.Name)) return false;
                if (e.Kind == DomainEventKind.Undefined)
                    Fail(e.Name, new VfException("InstanceVanished", FailureKind.InvalidOperation, $"{host.Name}: {e.Name} was undefined while waiting for it to be {request.State}.", e.Name));
                else if (e is { Kind: DomainEventKind.Stopped, Detail: "Migrated" } && request.State != InstanceState.Stopped)
                    Fail(e.Name, new VfException("InstanceMovedAway", FailureKind.InvalidOperation, $"{host.Name}: {e.Name} migrated to another host while waiting for it to be {request.State}.", e.Name));
                else if (Satisfies(e.ResultingState, request.State))
                {
                    pending.Remove(e.Name);
                    reached.Add(e.Name);
                }
                return pending.Count == 0;
            }, request.Timeout, ct);
            if (end == DrainEnd.TimedOut)
                foreach (var name in pending.Keys.ToList())
                    Fail(name, new VfException("WaitTimeout", FailureKind.OperationTimeout,
                        $"{host.Name}: {name} did not become {request.State} within {request.Timeout.TotalSeconds:0.#} s (it is {pending[name].State} as last read).", name));
            if (end == DrainEnd.StreamEnded)
            {
                var lost = why as VfException
                    ?? new VfException("EventStreamEnded", FailureKind.ConnectionError, $"{host.Name}: the event stream ended.", host.Name);
                foreach (var name in pending.Keys.ToList()) Fail(name, FleetScope.OnHost(lost, host.Name));
            }
            if (reached.Count > 0)
            {
                // One read for the instances as they are now (addresses, the state itself).
                var after = await InstanceReader.ReadAsync(remote, ct);
                done.AddRange(after.Where(i => reached.Contains(i.Name)));
            }
            return done;
        }
        catch (VfException e) when (!ct.IsCancellationRequested)
        {
            scope.Report.Failure(FleetScope.OnHost(e, host.Name));
            return done;
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
        }

        void Fail(string name, VfException e)
        {
            pending.Remove(name);
            scope.Report.Failure(e);
        }
    }
}
