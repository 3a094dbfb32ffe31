using VirtFleet.Hosts;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Migration;

/// <summary>
/// Invoke-VfRebalance and the drain: reads the hosts (facts and instances, one round trip each), plans with
/// <see cref="RebalancePlanner"/> (the whole plan before anything moves), then runs the moves one at a time with
/// <see cref="MoveOperation"/>, each verified before the next; the first move that fails stops the rest (the plan assumed it).
/// </summary>
public sealed class RebalanceOperation(FleetScope scope)
{
    private readonly FleetScope _scope = scope;

    public async Task<RebalancePlan> PlanAsync(IReadOnlyList<HostEntry> hosts, IReadOnlyList<string> drain, CancellationToken ct)
    {
        var facts = await _scope.ForEachHostAsync(hosts, "Reading hosts", async (h, c) => (Facts: await HostProbe.ProbeAsync(h, c), Instances: await InstanceReader.ReadAsync(h, c)), ct);
        var missing = hosts.Where(h => !facts.ContainsKey(h.Name)).Select(h => h.Name).ToList();
        if (missing.Count > 0)
            throw new VfException("HostUnavailable", FailureKind.ResourceUnavailable,
                $"Not read: {string.Join(", ", missing)}; nothing is planned without every host's load (narrow it with -Host).", string.Join(",", missing));
        var request = new RebalanceRequest(
            hosts.Select(h => new RebalanceHost(h.Name, facts[h.Name].Facts.MemoryTotalMiB, facts[h.Name].Facts.MemoryFreeMiB, facts[h.Name].Facts.CpuCount,
                h.Maintenance || drain.Contains(h.Name))).ToList(),
            facts.Values.SelectMany(f => f.Instances).Select(i => new RebalanceInstance(i.Name, i.Host, i.MemoryMiB, i.Vcpus, i.State == InstanceState.Running,
                i.SpreadGroup, i.IsVirtFleet && i.State is InstanceState.Running or InstanceState.Stopped,
                !i.IsVirtFleet ? "not created by VirtFleet" : i.State is InstanceState.Running or InstanceState.Stopped ? null : $"it is {i.State} (only running and stopped instances move)")).ToList(),
            drain) { Balance = drain.Count == 0 };
        var plan = RebalancePlanner.Plan(request);
        _scope.Report.Verbose($"measure: {plan.Measure}");
        _scope.Report.Verbose($"load before: {string.Join(", ", plan.LoadBefore.Select(l => $"{l.Key} {l.Value:0.00}"))}; after: {string.Join(", ", plan.LoadAfter.Select(l => $"{l.Key} {l.Value:0.00}"))}");
        foreach (var m in plan.Moves) _scope.Report.Verbose("plan: " + m);
        foreach (var l in plan.LeftOver)
            _scope.Report.Failure(new VfException("CannotMove", FailureKind.ResourceUnavailable, $"{l.Instance} stays on {l.Host}: {l.Reason}.", l.Instance));
        return plan;
    }

    /// <summary>Runs the plan's moves in order; returns what moved. A failed move is reported and stops the rest.</summary>
    public async Task<IReadOnlyList<MigrationResult>> RunAsync(RebalancePlan plan, CancellationToken ct)
    {
        var done = new List<MigrationResult>();
        var move = new MoveOperation(_scope);
        foreach (var m in plan.Moves)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var r = await move.MoveAsync(new MoveRequest(m.Instance, m.To, m.From, m.Mode == MigrationMode.Offline), ct);
                if (r is not null) done.Add(r);
            }
            catch (VfException e)
            {
                _scope.Report.Failure(e);
                var rest = plan.Moves.Where(x => x.Step > m.Step).Select(x => x.Instance).ToList();
                if (rest.Count > 0)
                    _scope.Report.Failure(new VfException("RebalanceStopped", FailureKind.InvalidOperation,
                        $"Move {m.Step} ({m.Instance} to {m.To}) failed, so the rest of the plan was not run ({string.Join(", ", rest)}); run Invoke-VfRebalance again to plan from where the fleet is now.", m.Instance));
                break;
            }
        }
        return done;
    }
}
