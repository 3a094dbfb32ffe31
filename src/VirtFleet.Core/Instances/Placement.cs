using VirtFleet.Model;

namespace VirtFleet.Instances;

public enum PlacementStrategy { LeastLoaded, RoundRobin, Pack }

/// <summary>A host's capacity as placement sees it.</summary>
public sealed record HostCapacity(string Host, long FreeMemoryMiB, int Cpus, int VcpusCommitted, long FreeDiskGiB, int Instances);

/// <summary>
/// Chooses a host for each instance of a batch. Each choice reserves what the instance needs, so the
/// rest of the batch sees the host as it will be. Pure: no I/O.
/// </summary>
public static class Placement
{
    /// <param name="spreadGroup">Anti-affinity: with a group, each instance goes to a host that holds no member of it
    /// (<paramref name="holdingMembers"/>: hosts that already do) and no other instance of the batch.</param>
    public static IReadOnlyList<string> Place(IReadOnlyList<HostCapacity> hosts, InstanceType size, int count, PlacementStrategy strategy,
        string? spreadGroup = null, IEnumerable<string>? holdingMembers = null)
    {
        var taken = new HashSet<string>(holdingMembers ?? [], StringComparer.Ordinal);
        if (hosts.Count == 0)
            throw new VfException("NoHosts", FailureKind.ResourceUnavailable, "No reachable host to place instances on.");
        var state = hosts.OrderBy(h => h.Host, StringComparer.Ordinal)
            .Select(h => new Slot(h.Host, h.FreeMemoryMiB, h.Cpus, h.VcpusCommitted, h.FreeDiskGiB, h.Instances)).ToList();
        var result = new List<string>(count);
        var next = 0;
        for (var i = 0; i < count; i++)
        {
            // Room for the instance's memory and for its whole disk (the overlay is thin, but may grow to the type's size).
            var fits = state.Where(s => s.FreeMemoryMiB >= size.MemoryMiB && s.FreeDiskGiB >= Math.Max(1, size.DiskGiB)
                && (spreadGroup is null || !taken.Contains(s.Host))).ToList();
            if (fits.Count == 0 && spreadGroup is not null)
                throw new VfException("SpreadGroupUnsatisfiable", FailureKind.ResourceUnavailable,
                    $"Spread group {spreadGroup}: no host is left for instance {i + 1} of {count}: its members never share a host, and " +
                    $"{(taken.Count == 0 ? "no host" : string.Join(", ", taken.Order(StringComparer.Ordinal)))} already hold{(taken.Count == 1 ? "s" : "")} one" +
                    $"{(state.Count > taken.Count ? $" (the others lack {size.MemoryMiB} MiB of free memory or {size.DiskGiB} GiB of free disk)" : "")}; add hosts, or create fewer.");
            if (fits.Count == 0)
                throw new VfException("InsufficientCapacity", FailureKind.ResourceUnavailable,
                    $"No host has {size.MemoryMiB} MiB of free memory and {size.DiskGiB} GiB of free disk for instance {i + 1} of {count} ({size.Name}); " +
                    $"free: {string.Join(", ", state.Select(s => $"{s.Host} {s.FreeMemoryMiB} MiB, {s.FreeDiskGiB} GiB"))}.");
            Slot pick = strategy switch
            {
                PlacementStrategy.RoundRobin => PickRoundRobin(state, fits, ref next),
                PlacementStrategy.Pack => fits.OrderBy(s => s.FreeMemoryMiB).ThenBy(s => s.Host, StringComparer.Ordinal).First(),
                _ => fits.OrderBy(s => (double)(s.VcpusCommitted + size.Vcpus) / Math.Max(1, s.Cpus))
                    .ThenByDescending(s => s.FreeMemoryMiB).ThenBy(s => s.Instances).ThenBy(s => s.Host, StringComparer.Ordinal).First(),
            };
            pick.FreeMemoryMiB -= size.MemoryMiB;
            pick.FreeDiskGiB -= size.DiskGiB;
            pick.VcpusCommitted += size.Vcpus;
            pick.Instances++;
            taken.Add(pick.Host);
            result.Add(pick.Host);
        }
        return result;
    }

    private static Slot PickRoundRobin(List<Slot> all, List<Slot> fits, ref int next)
    {
        for (var k = 0; k < all.Count; k++)
        {
            var candidate = all[(next + k) % all.Count];
            if (!fits.Contains(candidate)) continue;
            next = (next + k + 1) % all.Count;
            return candidate;
        }
        return fits[0];
    }

    private sealed class Slot(string host, long freeMemoryMiB, int cpus, int vcpusCommitted, long freeDiskGiB, int instances)
    {
        public string Host { get; } = host;
        public long FreeMemoryMiB { get; set; } = freeMemoryMiB;
        public int Cpus { get; } = cpus;
        public int VcpusCommitted { get; set; } = vcpusCommitted;
        public long FreeDiskGiB { get; set; } = freeDiskGiB;
        public int Instances { get; set; } = instances;
    }
}
