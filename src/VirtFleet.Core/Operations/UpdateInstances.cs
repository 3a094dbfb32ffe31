using VirtFleet.Instances;

namespace VirtFleet.Operations;

/// <summary>
/// Changes existing instances in place across the fleet (tags, security groups, owner record, instance type): one round
/// trip per host under its lock (<see cref="InstanceUpdater"/>), then the instances that were stopped for a new type are
/// started again as Start-VfInstance starts them (an instance in a security group paused behind its default deny first).
/// Each instance that fails is one reported failure; the others go on. The caller re-applies the firewall of the hosts
/// where an instance joined a group.
/// </summary>
public static class UpdateInstances
{
    /// <summary>How long a stop for a type change waits for a clean shutdown before the instance is forced off.</summary>
    public const int StopTimeoutSeconds = 30;

    /// <returns>The instances that were not changed, with why (a host outside the scope's inventory, not answering, refusing).</returns>
    public static async Task<IReadOnlyDictionary<string, string>> RunAsync(FleetScope scope, IReadOnlyList<InstanceUpdater.Change> changes,
        CancellationToken ct, bool restart = true)
    {
        var failed = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        if (changes.Count == 0) return failed;
        var byHost = changes.GroupBy(c => c.Instance.Host).ToDictionary(g => g.Key, g => g.ToList());
        var hosts = scope.Inventory.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList();
        foreach (var c in changes.Where(c => hosts.All(h => h.Name != c.Instance.Host)))
            Fail(c.Instance.Name, new VfException("HostNotFound", FailureKind.ObjectNotFound, $"{c.Instance.Name}: its host {c.Instance.Host} is not in the inventory.", c.Instance.Name));
        var stopped = new System.Collections.Concurrent.ConcurrentBag<(string Host, InstanceActions.Target Target)>();
        var answered = await scope.ForEachHostAsync(hosts, "Changing instances",
            (remote, c) => InstanceUpdater.RunAsync(remote, byHost[remote.Host.Name], StopTimeoutSeconds, c), ct,
            onResult: (host, outcomes) =>
            {
                foreach (var o in outcomes)
                {
                    if (o.Error is not null) Fail(o.Name, o.Error);
                    else if (o.Stopped)
                        stopped.Add((host.Name, new InstanceActions.Target(o.Name, byHost[host.Name].First(c => c.Instance.Name == o.Name).Instance.InstanceId)));
                }
            },
            onFailure: (host, error) =>
            {
                scope.Report.Failure(error);
                foreach (var c in byHost[host.Name]) failed.TryAdd(c.Instance.Name, error.Message);
            });
        if (restart && !stopped.IsEmpty)
        {
            var starts = stopped.GroupBy(s => s.Host).ToDictionary(g => g.Key, g => g.Select(x => x.Target).ToList());
            await scope.ForEachHostAsync(hosts.Where(h => starts.ContainsKey(h.Name)).ToList(), "Starting instances",
                (remote, c) => InstanceActions.RunAsync(remote, InstanceAction.Start, starts[remote.Host.Name], StopTimeoutSeconds, force: false, c), ct,
                onResult: (_, outcomes) => { foreach (var o in outcomes.Where(o => o.Error is not null)) Fail(o.Name, o.Error!); },
                onFailure: (host, error) =>
                {
                    scope.Report.Failure(error);
                    foreach (var t in starts[host.Name]) failed.TryAdd(t.Name, error.Message);
                });
        }
        return failed;

        void Fail(string name, VfException error)
        {
            scope.Report.Failure(error);
            failed[name] = error.Message;
        }
    }
}
