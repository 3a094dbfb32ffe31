namespace VirtFleet.Migration;

/// <summary>A host as the rebalance planner sees it: what it can hold, what it has free now, whether it may receive.</summary>
/// <param name="MemoryMiB">Memory instances may use (the host's total).</param>
/// <param name="FreeMemoryMiB">Memory available now (a move's target must keep <see cref="RebalancePlanner.HeadroomMiB"/> of it free).</param>
/// <param name="Maintenance">Never a target; with <see cref="RebalanceRequest.Drain"/> it is emptied.</param>
public sealed record RebalanceHost(string Name, long MemoryMiB, long FreeMemoryMiB, int Cpus, bool Maintenance = false);

/// <summary>An instance as the planner sees it. Only <see cref="Movable"/> ones are moved; every one counts towards its host's load.</summary>
public sealed record RebalanceInstance(string Name, string Host, long MemoryMiB, int Vcpus, bool Running, string? SpreadGroup = null, bool Movable = true, string? NotMovableReason = null);

/// <summary>One planned move, with the loads of its two hosts before and after it (in plan order).</summary>
public sealed record RebalanceMove(int Step, string Instance, string From, string To, MigrationMode Mode, double FromLoadBefore, double FromLoadAfter,
    double ToLoadBefore, double ToLoadAfter)
{
    public override string ToString() => $"{Step}. {Instance}: {From} ({FromLoadBefore:0.00} -> {FromLoadAfter:0.00}) to {To} ({ToLoadBefore:0.00} -> {ToLoadAfter:0.00}), {Mode.ToString().ToLowerInvariant()}";
}

/// <summary>An instance a drain could not place, and why.</summary>
public sealed record RebalanceLeftOver(string Instance, string Host, string Reason);

public sealed record RebalanceRequest(IReadOnlyList<RebalanceHost> Hosts, IReadOnlyList<RebalanceInstance> Instances, IReadOnlyList<string>? Drain = null)
{
    /// <summary>Even out the load after the drain (default: yes).</summary>
    public bool Balance { get; init; } = true;
}

/// <summary>The plan: the moves in order, each host's load before and after, and what a drain could not place.</summary>
public sealed class RebalancePlan
{
    public IReadOnlyList<RebalanceMove> Moves { get; init; } = [];
    public IReadOnlyDictionary<string, double> LoadBefore { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, double> LoadAfter { get; init; } = new Dictionary<string, double>();
    public IReadOnlyList<RebalanceLeftOver> LeftOver { get; init; } = [];
    /// <summary>The measure the plan evens out (stated for the user).</summary>
    public string Measure => RebalancePlanner.MeasureText;
    public double SpreadBefore => LoadBefore.Count == 0 ? 0 : LoadBefore.Values.Max() - LoadBefore.Values.Min();
    public double SpreadAfter => LoadAfter.Count == 0 ? 0 : LoadAfter.Values.Max() - LoadAfter.Values.Min();
}

/// <summary>
/// Plans the moves that even out load across hosts. Pure: no I/O.
/// <para>Measure: a host's load is the mean of its memory share (memory of its running instances over the host's memory) and
/// its vCPU share (vCPUs of its running instances over its CPUs); the fleet's imbalance is the sum of squared differences
/// from the mean load. Stopped instances weigh nothing (they use disk only) but may be moved by a drain.</para>
/// <para>Look-ahead: the whole plan is computed on a simulated fleet before anything moves. Each step takes the single move
/// that lowers the imbalance most, among moves that fit (the target keeps <see cref="HeadroomMiB"/> of free memory after
/// every move planned onto it, its memory share stays at most 1) and that leave the target less loaded than the source was
/// (a move never overloads its target). An instance moves at most once (no move undoes another) and every move strictly
/// lowers the imbalance (the plan cannot cycle); it stops when no move lowers it by more than a rounding error, which for
/// equal instances is the least number of moves, and a second run on the result plans nothing. Hosts in maintenance never
/// receive; members of one spread group never end on the same host. A drain first moves every instance off the drained
/// hosts (to the least loaded host each fits on), reporting those it cannot place.</para>
/// </summary>
public static class RebalancePlanner
{
    public const long HeadroomMiB = MigrationChecks.MemoryHeadroomMiB;
    public const string MeasureText = "load = (memory of running instances / host memory + their vCPUs / host CPUs) / 2; imbalance = sum over hosts of (load - mean load)^2";
    private const double Epsilon = 1e-9;

    private sealed class Slot(RebalanceHost host)
    {
        public RebalanceHost Host { get; } = host;
        public long UsedMiB;
        public int Vcpus;
        public long Incoming;
        public readonly List<RebalanceInstance> Members = [];
        public double Load => LoadWith(0, 0);
        public double LoadWith(long memMiB, int vcpus) =>
            ((double)(UsedMiB + memMiB) / Math.Max(1, Host.MemoryMiB) + (double)(Vcpus + vcpus) / Math.Max(1, Host.Cpus)) / 2;
        public bool Fits(RebalanceInstance i) =>
            !Host.Maintenance && Host.FreeMemoryMiB - Incoming - (i.Running ? i.MemoryMiB : 0) >= HeadroomMiB
            && UsedMiB + (i.Running ? i.MemoryMiB : 0) <= Host.MemoryMiB;
        public bool HasSpreadPeer(RebalanceInstance i) => i.SpreadGroup is { } g && Members.Any(m => m.SpreadGroup == g && m.Name != i.Name);
    }

    public static RebalancePlan Plan(RebalanceRequest request)
    {
        var slots = request.Hosts.OrderBy(h => h.Name, StringComparer.Ordinal).ToDictionary(h => h.Name, h => new Slot(h), StringComparer.Ordinal);
        foreach (var i in request.Instances.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            if (!slots.TryGetValue(i.Host, out var s)) continue;
            s.Members.Add(i);
            if (i.Running) { s.UsedMiB += i.MemoryMiB; s.Vcpus += i.Vcpus; }
        }
        var before = slots.ToDictionary(s => s.Key, s => Math.Round(s.Value.Load, 4));
        var moves = new List<RebalanceMove>();
        var leftOver = new List<RebalanceLeftOver>();
        var moved = new HashSet<string>(StringComparer.Ordinal);
        var drain = (request.Drain ?? []).ToHashSet(StringComparer.Ordinal);

        void Apply(RebalanceInstance i, Slot from, Slot to)
        {
            var (fb, tb) = (from.Load, to.Load);
            from.Members.Remove(i);
            to.Members.Add(i with { Host = to.Host.Name });
            if (i.Running)
            {
                from.UsedMiB -= i.MemoryMiB; from.Vcpus -= i.Vcpus;
                to.UsedMiB += i.MemoryMiB; to.Vcpus += i.Vcpus; to.Incoming += i.MemoryMiB;
            }
            moved.Add(i.Name);
            moves.Add(new RebalanceMove(moves.Count + 1, i.Name, from.Host.Name, to.Host.Name, i.Running ? MigrationMode.Live : MigrationMode.Offline,
                Math.Round(fb, 4), Math.Round(from.Load, 4), Math.Round(tb, 4), Math.Round(to.Load, 4)));
        }

        // 1. Drain: everything off the drained hosts, heaviest first, each to the least loaded host it fits on.
        foreach (var from in slots.Values.Where(s => drain.Contains(s.Host.Name)))
        {
            foreach (var i in from.Members.OrderByDescending(m => m.Running).ThenByDescending(m => m.MemoryMiB).ThenBy(m => m.Name, StringComparer.Ordinal).ToList())
            {
                if (!i.Movable) { leftOver.Add(new(i.Name, from.Host.Name, i.NotMovableReason ?? "it cannot be moved")); continue; }
                var candidates = slots.Values.Where(t => t != from && !drain.Contains(t.Host.Name)).ToList();
                var to = candidates.Where(t => t.Fits(i) && !t.HasSpreadPeer(i))
                    .OrderBy(t => t.LoadWith(i.Running ? i.MemoryMiB : 0, i.Running ? i.Vcpus : 0)).ThenBy(t => t.Host.Name, StringComparer.Ordinal).FirstOrDefault();
                if (to is null)
                {
                    var why = candidates.Count == 0 ? "no other host to move it to"
                        : candidates.All(t => t.Host.Maintenance) ? "every other host is in maintenance"
                        : candidates.Where(t => !t.Host.Maintenance).All(t => t.HasSpreadPeer(i)) ? $"every other host already holds a member of spread group {i.SpreadGroup}"
                        : $"no host has {i.MemoryMiB} MiB (+{HeadroomMiB} headroom) free for it";
                    leftOver.Add(new(i.Name, from.Host.Name, why));
                    continue;
                }
                Apply(i, from, to);
            }
        }

        // 2. Even out: the best single move each step, under the look-ahead rules.
        double Imbalance() { var loads = slots.Values.Select(s => s.Load).ToList(); var mean = loads.Average(); return loads.Sum(l => (l - mean) * (l - mean)); }
        while (request.Balance && slots.Count > 1)
        {
            var current = Imbalance();
            (RebalanceInstance I, Slot From, Slot To, double Gain)? best = null;
            foreach (var from in slots.Values.Where(s => !drain.Contains(s.Host.Name)))
                foreach (var i in from.Members.Where(m => m.Movable && m.Running && !moved.Contains(m.Name)))
                    foreach (var to in slots.Values.Where(t => t != from && !drain.Contains(t.Host.Name) && t.Fits(i) && !t.HasSpreadPeer(i)))
                    {
                        // Never overload the target: it ends less loaded than the source was.
                        if (to.LoadWith(i.MemoryMiB, i.Vcpus) >= from.Load - Epsilon) continue;
                        from.UsedMiB -= i.MemoryMiB; from.Vcpus -= i.Vcpus; to.UsedMiB += i.MemoryMiB; to.Vcpus += i.Vcpus;
                        var gain = current - Imbalance();
                        from.UsedMiB += i.MemoryMiB; from.Vcpus += i.Vcpus; to.UsedMiB -= i.MemoryMiB; to.Vcpus -= i.Vcpus;
                        if (gain > 1e-6 && (best is null || gain > best.Value.Gain + Epsilon)) best = (i, from, to, gain);
                    }
            if (best is null) break;
            Apply(best.Value.I, best.Value.From, best.Value.To);
        }
        return new RebalancePlan
        {
            Moves = moves, LoadBefore = before, LoadAfter = slots.ToDictionary(s => s.Key, s => Math.Round(s.Value.Load, 4)), LeftOver = leftOver,
        };
    }
}
