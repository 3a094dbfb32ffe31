using System.Globalization;
using VirtFleet.HostScripts;

namespace VirtFleet.Storage;

/// <summary>A removal of one orphan: removed, or kept with the host's reason.</summary>
public sealed record OrphanRemoval(string Host, string Path, bool Removed, string? Reason);

/// <summary>The host side of Get-VfStorage and Remove-VfOrphan (storage.sh: one rule for both).</summary>
public static class StorageScripts
{
    /// <summary>The store listed under the shared host lock (a create or removal half made is never seen).</summary>
    public static HostStep<HostStorage> ListStep() =>
        HostScript.Load("storage").Call("vf_st_list").Shared().Reads(r => Parse(r.EnsureSuccess("reading the store", "StorageReadFailed")));

    /// <summary>The removal of the given files, under the exclusive host lock; the host decides again that each is an orphan.</summary>
    public static HostStep<IReadOnlyList<OrphanRemoval>> RemoveStep(IReadOnlyList<string> paths)
    {
        foreach (var p in paths)
            if (!p.StartsWith(HostPaths.Store + "/", StringComparison.Ordinal) || p.Any(char.IsControl))
                throw new VfException("InvalidStorePath", FailureKind.InvalidArgument, $"'{p}' is not a file in VirtFleet's store ({HostPaths.Store}).", p);
        return HostScript.Load("storage").Call("vf_st_remove", paths).Locked(TimeSpan.FromMinutes(5), orCommandTimeout: true)
            .Reads(r =>
            {
                r.EnsureSuccess("removing orphans", "OrphanRemoveFailed");
                return (IReadOnlyList<OrphanRemoval>)r.Lines("RESULT").Select(l => l.Split(' ', 3)).Where(a => a.Length >= 2)
                    .Select(a =>
                    {
                        // "removed PATH " or "kept PATH REASON": the path is one of ours (no spaces in what VirtFleet makes).
                        var rest = a.Length > 2 ? a[2] : "";
                        return new OrphanRemoval(r.Host.Name, a[1], a[0] == "removed", a[0] == "removed" ? null : rest.Trim());
                    }).ToList();
            });
    }

    internal static HostStorage Parse(HostReply r)
    {
        long size = 0, used = 0, free = 0;
        if (r.Lines("DF").FirstOrDefault()?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var s, var u, var a, ..])
            (size, used, free) = (L(s), L(u), L(a));
        var files = new List<StoreFile>();
        foreach (var line in r.Lines("FILE"))
        {
            var f = line.Split(' ', 7);
            if (f.Length < 7 || !Enum.TryParse<StoreFileKind>(f[0], true, out var kind) || !Enum.TryParse<StoreFileState>(f[1], true, out var state)) continue;
            files.Add(new StoreFile
            {
                Host = r.Host.Name, Kind = kind, State = state, AllocatedBytes = L(f[2]), SizeBytes = L(f[3]),
                Checkpoints = (int)L(f[4]), CheckpointMemoryBytes = L(f[5]), Path = f[6],
            });
        }
        return new HostStorage
        {
            Host = r.Host.Name, SizeBytes = size, UsedBytes = used, FreeBytes = free,
            Files = files.OrderBy(x => x.Path, StringComparer.Ordinal).ToList(),
        };
    }

    private static long L(string s) => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
