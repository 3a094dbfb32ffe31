using System.Management.Automation;
using VirtFleet.Migration;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Evens out memory and vCPU load across hosts by moving instances, or drains a host.</para>
/// <para type="description">Reads every selected host (its memory, CPUs and instances), plans all the moves before any
/// runs, then moves one instance at a time with Move-VfInstance (live when it runs), each verified before the next; a failed
/// move stops the rest. The measure: a host's load is the mean of (memory of its running instances / its memory) and (their
/// vCPUs / its CPUs); the plan lowers the sum of squared differences from the mean load. Each step takes the one move that
/// lowers it most, only where the target keeps 128 MiB free and ends less loaded than the source was (no move overloads its
/// target), every instance moves at most once (no move undoes another), hosts in maintenance never receive, and members of
/// a spread group never share a host. It stops when no move helps, so a second run on a balanced fleet plans nothing.
/// With -Drain the named hosts are put in maintenance and everything on them moves off (stopped instances offline); what
/// cannot move is one CannotMove error each, with the reason. The plan is written first (a RebalancePlan: the moves, and
/// each host's load before and after); -WhatIf shows it without moving anything.</para>
/// <example><code>Invoke-VfRebalance -WhatIf</code></example>
/// <example><code>Invoke-VfRebalance -Host hv1, hv2, hv3 -Verbose</code></example>
/// <example><code>Invoke-VfRebalance -Drain hv2   # hv2 goes into maintenance and is emptied</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "VfRebalance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(RebalancePlan), typeof(MigrationResult))]
public sealed class InvokeVfRebalanceCommand : VfFleetCmdlet
{
    /// <summary>Hosts to empty: they are put in maintenance (Set-VfHost -Maintenance) and every instance on them moves to the other selected hosts.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Drain { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv).ToList();
        var drain = new List<string>();
        foreach (var d in Drain ?? [])
        {
            if (inv.Find(d) is { } h) drain.Add(h.Name);
            else ThrowFailure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{d}' in the inventory {inv.Path}.", d), d);
        }
        foreach (var d in drain.Where(d => hosts.All(h => h.Name != d))) hosts.Add(inv.Find(d)!);
        if (drain.Count > 0 && ShouldProcess(string.Join(", ", drain), "Put in maintenance (placement and moves skip it)"))
        {
            foreach (var d in drain) inv.Find(d)!.Maintenance = true;
            inv.Save();
        }
        var op = new RebalanceOperation(Scope(inv));
        RunAsync(async ct =>
        {
            var plan = await op.PlanAsync(hosts, drain, ct);
            PostObject(plan);
            foreach (var r in await op.RunAsync(plan, ct)) PostObject(r);
        });
        base.EndProcessing();
    }
}
