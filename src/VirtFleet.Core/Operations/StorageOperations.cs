using VirtFleet.Model;
using VirtFleet.Storage;

namespace VirtFleet.Operations;

/// <summary>
/// Disk space on the hosts (Get-VfStorage, Remove-VfOrphan): VirtFleet's store on each host, file by file, with the files
/// VirtFleet made that nothing uses any more (orphans) and the files it did not make (foreign). Orphans are removed only
/// after each host decides again, under its host lock, that the file is still an orphan; foreign files are never removed.
/// </summary>
public static class StorageOperations
{
    /// <summary>Each host's store (one round trip per host, under its shared lock).</summary>
    public static async Task<IReadOnlyList<HostStorage>> ListAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts, CancellationToken ct,
        Action<HostStorage>? onHost = null)
    {
        var found = new List<HostStorage>();
        await scope.ForEachHostAsync(hosts, "Reading stores", (h, c) => StorageScripts.ListStep().RunAsync(h, c), ct, (_, s) =>
        {
            found.Add(s);
            onHost?.Invoke(s);
        });
        return found.OrderBy(s => s.Host, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Removes orphans: the given files (as Get-VfStorage listed them), or with none given every orphan on <paramref name="hosts"/>;
    /// asks for each file. A file that is not an orphan (any more) is kept and reported; returns the files removed.
    /// </summary>
    public static async Task<IReadOnlyList<StoreFile>> RemoveOrphansAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts,
        IReadOnlyList<StoreFile>? files, CancellationToken ct)
    {
        var candidates = files?.ToList() ?? (await ListAsync(scope, hosts, ct)).SelectMany(s => s.Orphans).ToList();
        foreach (var f in candidates.Where(f => f.State != StoreFileState.Orphan))
            scope.Report.Failure(new VfException(f.State == StoreFileState.Foreign ? "ForeignFileKept" : "FileInUse", FailureKind.InvalidOperation,
                $"{f.Host}: {f.Path} is {(f.State == StoreFileState.Foreign ? "not a file VirtFleet made" : "in use")}; it is kept.", f.Path));
        var asked = candidates.Where(f => f.State == StoreFileState.Orphan)
            .Where(f => scope.Report.ShouldProcess($"{f.Path} on {f.Host} ({f.Kind}, {f.AllocatedMiB} MiB)", "Remove orphan file")).ToList();
        var byHost = asked.GroupBy(f => f.Host).ToDictionary(g => g.Key, g => g.ToList());
        var inv = scope.Inventory;
        foreach (var missing in byHost.Keys.Where(k => inv.Find(k) is null))
            scope.Report.Failure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{missing}' is not in {inv.Path}.", missing));
        var removed = new List<StoreFile>();
        await scope.ForEachHostAsync(inv.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList(), "Removing orphans",
            (h, c) => StorageScripts.RemoveStep(byHost[h.Host.Name].Select(f => f.Path).ToList()).RunAsync(h, c), ct, (host, results) =>
            {
                foreach (var r in results)
                {
                    var f = byHost[host.Name].FirstOrDefault(x => x.Path == r.Path);
                    if (r.Removed && f is not null) { removed.Add(f); scope.Report.Verbose($"{host.Name}: removed {r.Path}"); }
                    else if (!r.Removed)
                        scope.Report.Failure(new VfException("OrphanKept", FailureKind.InvalidOperation, $"{host.Name}: {r.Path} was kept: {r.Reason}", r.Path));
                }
            });
        return removed;
    }
}
