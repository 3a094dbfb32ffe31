using VirtFleet.Checkpoints;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;

namespace VirtFleet.Operations;

/// <summary>Instances (objects as read, or names and ids looked up on hosts) and a checkpoint to make, restore or remove.</summary>
public sealed class CheckpointRequest
{
    /// <summary>Instances as read (Get-VfInstance): acted on where they are.</summary>
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    /// <summary>Instance names or ids (wildcards), looked up on <see cref="SearchHosts"/>.</summary>
    public IReadOnlyList<string> InstanceNames { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>Checkpoints as read (Get-VfCheckpoint): restore or remove acts on each (their instance and name).</summary>
    public IReadOnlyList<Checkpoint> Checkpoints { get; init; } = [];
    /// <summary>The checkpoint's name (with instances).</summary>
    public string? Name { get; init; }
    public string? Description { get; init; }
}

/// <summary>
/// Checkpoints of instances (Checkpoint-VfInstance, Get-VfCheckpoint, Restore-VfCheckpoint, Remove-VfCheckpoint): libvirt
/// internal snapshots inside each instance's own qcow2 overlay, so the overlay's backing file (the image version) and the
/// domain's disk paths never change. A running guest's checkpoint holds its memory too; a stopped one's, its disk. Changes
/// act only on VirtFleet's instances, one round trip per host under the host lock, and the checkpoints are removed with
/// the instance (<see cref="RemoveInstances"/>: the domain's snapshot metadata goes with its definition, the snapshots with
/// its overlay).
/// </summary>
public static class CheckpointOperations
{
    /// <summary>The checkpoints on <paramref name="hosts"/> of instances matching <paramref name="instances"/> (names or ids, wildcards; null: all) whose names match <paramref name="names"/>.</summary>
    public static async Task<IReadOnlyList<Checkpoint>> ListAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts,
        IReadOnlyList<string>? instances, IReadOnlyList<string>? names, CancellationToken ct)
    {
        var found = new List<Checkpoint>();
        await scope.ForEachHostAsync(hosts, "Listing checkpoints", (h, c) => CheckpointScripts.ListStep().RunAsync(h, c), ct, (_, list) =>
            found.AddRange(list.Where(cp =>
                (instances is null || instances.Any(n => Wildcard.IsMatch(cp.Instance, n) || (cp.InstanceId is { } id && Wildcard.IsMatch(id, n)))) &&
                (names is null || names.Any(n => Wildcard.IsMatch(cp.Name, n))))));
        return found.OrderBy(c => c.Host, StringComparer.Ordinal).ThenBy(c => c.Instance, StringComparer.OrdinalIgnoreCase).ThenBy(c => c.Created).ToList();
    }

    /// <summary>Takes a checkpoint of each instance; returns the new checkpoints as listed afterwards (same round trip).</summary>
    public static async Task<IReadOnlyList<Checkpoint>> CreateAsync(FleetScope scope, CheckpointRequest request, CancellationToken ct)
    {
        var name = CheckpointScripts.ValidateName(request.Name);
        var description = CheckpointScripts.ValidateDescription(request.Description);
        var targets = (await FindAsync(scope, request, ct))
            .Where(i => scope.Report.ShouldProcess($"{i.Name} on {i.Host}", $"Checkpoint instance as {name}"))
            .Select(i => (i, name)).ToList();
        return await ChangeAsync(scope, CheckpointAction.Create, targets, description, ct);
    }

    /// <summary>Restores each instance to the checkpoint; returns the checkpoints restored to.</summary>
    public static async Task<IReadOnlyList<Checkpoint>> RestoreAsync(FleetScope scope, CheckpointRequest request, CancellationToken ct)
    {
        var targets = (await TargetsAsync(scope, request, ct))
            .Where(t => scope.Report.ShouldProcess($"{t.Instance.Name} on {t.Instance.Host}",
                $"Restore checkpoint {t.Checkpoint} (the disk{(t.Instance.State == InstanceState.Running ? " and memory" : "")} changed since is lost)"))
            .ToList();
        return await ChangeAsync(scope, CheckpointAction.Restore, targets, "", ct);
    }

    /// <summary>Removes the checkpoints (the instance's current state is kept); returns those removed.</summary>
    public static async Task<IReadOnlyList<Checkpoint>> RemoveAsync(FleetScope scope, CheckpointRequest request, CancellationToken ct)
    {
        var targets = (await TargetsAsync(scope, request, ct))
            .Where(t => scope.Report.ShouldProcess($"{t.Instance.Name} on {t.Instance.Host}", $"Remove checkpoint {t.Checkpoint}")).ToList();
        return await ChangeAsync(scope, CheckpointAction.Remove, targets, "", ct);
    }

    /// <summary>(instance, checkpoint) pairs: checkpoints as read, or the named checkpoint of each instance.</summary>
    private static async Task<List<(Instance Instance, string Checkpoint)>> TargetsAsync(FleetScope scope, CheckpointRequest request, CancellationToken ct)
    {
        var targets = new List<(Instance, string)>();
        foreach (var cp in request.Checkpoints)
            targets.Add((new Instance { Name = cp.Instance, InstanceId = cp.InstanceId, Host = cp.Host, IsVirtFleet = cp.InstanceId is not null }, cp.Name));
        if (request.Instances.Count > 0 || request.InstanceNames.Count > 0)
        {
            var name = CheckpointScripts.ValidateName(request.Name);
            targets.AddRange((await FindAsync(scope, request, ct)).Select(i => (i, name)));
        }
        var ok = new List<(Instance, string)>();
        foreach (var t in targets.DistinctBy(t => (t.Item1.Host, t.Item1.Name, t.Item2)))
        {
            if (t.Item1.IsVirtFleet) ok.Add(t);
            else scope.Report.Failure(NotOurs(t.Item1));
        }
        return ok;
    }

    /// <summary>The instances of the request: objects as given, names looked up; domains VirtFleet did not create are refused.</summary>
    private static async Task<List<Instance>> FindAsync(FleetScope scope, CheckpointRequest request, CancellationToken ct)
    {
        var targets = await ListInstances.ResolveAsync(scope, request.Instances, request.InstanceNames, request.SearchHosts, ct);
        var ours = new List<Instance>();
        foreach (var i in targets.DistinctBy(i => (i.Host, i.Name)))
        {
            if (i.IsVirtFleet && i.InstanceId is not null) ours.Add(i);
            else scope.Report.Failure(NotOurs(i));
        }
        return ours;
    }

    private static VfException NotOurs(Instance i) => new("NotCreatedByVirtFleet", FailureKind.InvalidOperation,
        $"{i.Host}: {i.Name} was not created by VirtFleet; its snapshots are left alone.", i.Name);

    /// <summary>One round trip per host: the changes under the host lock, then the host's checkpoints (and, after a restore of instances in security groups, its network state) read back.</summary>
    private static async Task<IReadOnlyList<Checkpoint>> ChangeAsync(FleetScope scope, CheckpointAction action,
        IReadOnlyList<(Instance Instance, string Checkpoint)> targets, string description, CancellationToken ct)
    {
        var inv = scope.Inventory;
        var byHost = targets.GroupBy(t => t.Instance.Host).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var missing in byHost.Keys.Where(k => inv.Find(k) is null))
            scope.Report.Failure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{missing}' is not in {inv.Path}.", missing));
        var hosts = inv.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList();
        var result = new List<Checkpoint>();
        var states = new Dictionary<string, HostNetworkState>();
        await scope.ForEachHostAsync(hosts, $"{action} checkpoints", async (remote, c) =>
        {
            var mine = byHost[remote.Host.Name];
            // A restore may bring a stopped guest back running: its default deny (used by the script only for an instance in a
            // security group, which its domain's metadata says) and the host's network state read after it, for its firewall.
            var guards = action == CheckpointAction.Restore
                ? mine.DistinctBy(t => t.Instance.Name).ToDictionary(t => t.Instance.Name, t => InstanceActions.Guard(t.Instance.Name, t.Instance.InstanceId!))
                : null;
            var batch = new HostBatch();
            var changed = batch.Add(CheckpointScripts.ChangeStep(action,
                mine.Select(t => (t.Instance.Name, t.Instance.InstanceId!, t.Checkpoint, description)).ToList(), guards));
            var after = batch.Add(CheckpointScripts.ListStep());
            var net = guards is not null ? batch.Add(HostNetworkState.ReadStep()) : null;
            await batch.RunAsync(remote, c);
            return (Outcomes: changed.Value, After: after, Net: net);
        }, ct, (host, r) =>
        {
            var before = byHost[host.Name];
            IReadOnlyList<Checkpoint> listed = [];
            try { listed = r.After.Value; }
            catch (VfException e) { scope.Report.Warning($"{host.Name}: the checkpoints could not be read back: {e.Message}"); }
            foreach (var o in r.Outcomes)
            {
                if (o.Error is not null) { scope.Report.Failure(o.Error); continue; }
                var t = before.First(b => b.Instance.Name == o.Instance && b.Checkpoint == o.Checkpoint);
                var cp = listed.FirstOrDefault(l => l.Instance == o.Instance && l.Name == o.Checkpoint)
                         ?? new Checkpoint { Instance = o.Instance, InstanceId = t.Instance.InstanceId, Host = host.Name, Name = o.Checkpoint };
                result.Add(cp);
                scope.Report.Verbose($"{host.Name}: {action} checkpoint {o.Checkpoint} of {o.Instance}: done");
            }
            if (r.Net is not null)
            {
                try
                {
                    var live = r.Net.Value;
                    if (live.Domains.Any(d => before.Any(b => b.Instance.Name == d.Info.Name) && d.Info.Metadata?.SecurityGroups.Count > 0))
                        states[host.Name] = live;
                }
                catch (VfException e) { scope.Report.Failure(FleetScope.OnHost(e, host.Name)); }
            }
        });
        // A restored guest may run again (new taps) or be off (freed taps): the host's firewall follows, as after a start or stop.
        if (states.Count > 0) await new FleetNetworking(scope).ReconcileHostsAsync(states, ct);
        return result;
    }
}
