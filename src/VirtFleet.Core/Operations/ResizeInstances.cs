using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>Instances to resize: objects as read, or names looked up on hosts; a new instance type, a bigger root disk, or both.</summary>
public sealed class ResizeRequest
{
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    /// <summary>Instance names or ids (wildcards), looked up on <see cref="SearchHosts"/>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>The new instance type (its memory and vCPUs); null keeps them.</summary>
    public string? InstanceType { get; init; }
    /// <summary>The root disk's new size in GiB (it grows, never shrinks); null keeps it.</summary>
    public int? DiskGiB { get; init; }
    /// <summary>Apply a new type at once: a running instance is stopped and started again (else at its next start).</summary>
    public bool Restart { get; init; }
}

/// <summary>
/// Resize-VfInstance: a new instance type through <see cref="UpdateInstances"/> (libvirt's persistent definition; a running
/// instance takes it at its next start, or at once with Restart), and the root disk grown (never shrunk) in one round trip per
/// host under its lock: live through libvirt while the guest runs, else the overlay itself. Only VirtFleet's instances.
/// </summary>
public static class ResizeInstances
{
    public static async Task<IReadOnlyList<string>> RunAsync(FleetScope scope, ResizeRequest request, CancellationToken ct)
    {
        if (request.InstanceType is null && request.DiskGiB is null)
            throw new VfException("ResizeNothing", FailureKind.InvalidArgument, "Give -InstanceType, -DiskGiB or both.");
        if (request.DiskGiB is < 1 or > 65536)
            throw new VfException("InvalidDiskSize", FailureKind.InvalidArgument, $"A disk is 1-65536 GiB, not {request.DiskGiB}.");
        var type = request.InstanceType is null ? null : Model.InstanceType.Find(request.InstanceType);

        var targets = await ListInstances.ResolveAsync(scope, request.Instances, request.Names, request.SearchHosts, ct);
        var approved = new List<Instance>();
        foreach (var i in targets.DistinctBy(i => (i.Host, i.Name)))
        {
            if (!i.IsVirtFleet || i.InstanceId is null)
                scope.Report.Failure(new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{i.Name} on {i.Host} was not created by VirtFleet; it is left alone.", i.Name));
            else if (scope.Report.ShouldProcess($"{i.Name} on {i.Host}",
                         "Resize instance to " + string.Join(", ", new[] { type is null ? null : $"type {type.Name}", request.DiskGiB is { } g ? $"a {g} GiB disk" : null }.OfType<string>())))
                approved.Add(i);
        }
        var failed = new HashSet<string>(StringComparer.Ordinal);
        if (type is not null && approved.Count > 0)
            foreach (var name in (await UpdateInstances.RunAsync(scope, approved.Select(i => new InstanceUpdater.Change(i, Type: type, StopIfRunning: request.Restart)).ToList(), ct)).Keys)
                failed.Add(name);
        if (request.DiskGiB is { } gib)
        {
            var grow = approved.Where(i => !failed.Contains(i.Name)).GroupBy(i => i.Host).ToDictionary(g => g.Key, g => g.ToList());
            var hosts = scope.Inventory.Hosts.Where(h => grow.ContainsKey(h.Name)).ToList();
            await scope.ForEachHostAsync(hosts, "Growing disks",
                (h, c) => InstanceActions.GrowDisksStep(grow[h.Host.Name].Select(i => (new InstanceActions.Target(i.Name, i.InstanceId), (long)gib << 30)).ToList()).RunAsync(h, c), ct,
                (_, outcomes) => { foreach (var o in outcomes.Where(o => o.Error is not null)) { failed.Add(o.Name); scope.Report.Failure(o.Error!); } },
                (h, e) => { foreach (var i in grow[h.Name]) failed.Add(i.Name); scope.Report.Failure(FleetScope.OnHost(e, h.Name)); });
        }
        return approved.Select(i => i.Name).Where(n => !failed.Contains(n)).ToList();
    }
}
