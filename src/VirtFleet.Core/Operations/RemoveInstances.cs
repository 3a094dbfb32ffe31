using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;

namespace VirtFleet.Operations;

/// <summary>
/// The one release path of instances (Remove-VfInstance, a playbook's removals and prune): destroys and undefines each domain
/// and deletes only the disks VirtFleet made for it (one round trip per host under the host lock), then releases the
/// instances' networking: their address reservations, their public addresses (disassociated, kept allocated) and their
/// firewall chains.
/// </summary>
public static class RemoveInstances
{
    /// <summary>
    /// Instances with a NIC or security groups may hold reservations, public addresses or firewall chains;
    /// the others have nothing to release.
    /// </summary>
    public static bool Networked(Instance i) => i.MacAddresses.Count > 0 || i.SecurityGroups.Count > 0 || i.Networks.Count > 0;

    /// <summary>
    /// Removes the instances (<see cref="InstanceActionRequest.Action"/> is ignored); <paramref name="onDone"/> gets each removed
    /// instance as its host answers. By name with every change approved already, each host finds and removes its matches in
    /// one round trip (<see cref="RemoveMatchingAsync"/>); otherwise the instances are found first, each asked about, then
    /// removed with, where a removed instance had networking, its host's network state read in the same round trip.
    /// </summary>
    public static async Task<InstanceActionResult> RunAsync(FleetScope scope, InstanceActionRequest request, CancellationToken ct,
        Action<InstanceActionOutcome>? onDone = null)
    {
        IReadOnlyList<InstanceActionOutcome> outcomes;
        var parsed = new Dictionary<string, HostNetworkState>();
        if (OnHostPatterns(scope, request) is { } patterns)
            outcomes = await RemoveMatchingAsync(scope, request, patterns, parsed, ct, onDone);
        else
        {
            var remove = new InstanceActionRequest
            {
                Action = InstanceAction.Remove, Instances = request.Instances, Names = request.Names, SearchHosts = request.SearchHosts,
                Force = request.Force, TimeoutSeconds = request.TimeoutSeconds,
            };
            // The host's network state, read after the removal in the same round trip, when there is networking to release.
            (outcomes, var states) = await InstanceLifecycle.ActAsync(scope, remove, ct, onDone, targets => targets.Any(Networked));
            foreach (var (host, state) in states)
            {
                try { parsed[host] = state.Value; }
                catch (VfException e) { scope.Report.Verbose($"{host}: network state not readable ({e.Message}); reading again"); }
            }
        }
        var result = new InstanceActionResult(outcomes);
        var removed = ToRelease(result);
        if (removed.Count > 0) await new FleetNetworking(scope).ReleaseAsync(removed, parsed, ct);
        return result;
    }

    /// <summary>
    /// The request's names as shell patterns when each host can find them itself: names only (no instances as read), every
    /// change approved already (nothing to ask about each instance first), and every name plain enough for a host
    /// (<see cref="Wildcard.ToShellPattern"/>); else null.
    /// </summary>
    private static IReadOnlyList<string>? OnHostPatterns(FleetScope scope, InstanceActionRequest request)
    {
        if (request.Instances.Count > 0 || request.Names.Count == 0 || scope.Report.ConfirmsChanges) return null;
        var patterns = request.Names.Select(Wildcard.ToShellPattern).ToList();
        return patterns.All(p => p is not null) ? patterns.Distinct().ToList()! : null;
    }

    /// <summary>
    /// A removal by name in one round trip per host: each host finds the instances whose name (or id) matches and removes them
    /// under its lock (<see cref="InstanceActions.RemoveMatchingStep"/>); where a removed instance had networking, the host's
    /// network state is read after it into <paramref name="states"/>. An exact name found on no host is InstanceNotFound.
    /// </summary>
    private static async Task<IReadOnlyList<InstanceActionOutcome>> RemoveMatchingAsync(FleetScope scope, InstanceActionRequest request,
        IReadOnlyList<string> patterns, Dictionary<string, HostNetworkState> states, CancellationToken ct, Action<InstanceActionOutcome>? onDone)
    {
        var outcomes = new List<InstanceActionOutcome>();
        var step = InstanceActions.RemoveMatchingStep(patterns, request.Force);
        var answered = await scope.ForEachHostAsync(request.SearchHosts, "Remove instances", async (remote, c) =>
            {
                var results = await step.RunAsync(remote, c);
                HostNetworkState? state = null;
                if (results.Any(o => o.Error is null && o.Instance is { } i && Networked(i)))
                {
                    try { state = await HostNetworkState.ReadAsync(remote, c); }
                    catch (VfException e) { scope.Report.Verbose($"{remote.Host.Name}: network state not readable ({e.Message}); reading again"); }
                }
                return (results, state);
            }, ct,
            (host, answer) =>
            {
                if (answer.state is { } state) states[host.Name] = state;
                foreach (var o in answer.results)
                {
                    if (o.Error is not null)
                    {
                        scope.Report.Failure(o.Error);
                        outcomes.Add(new(host.Name, o.Name, InstanceActionStatus.Failed, o.Instance, Error: o.Error));
                        continue;
                    }
                    scope.Report.Verbose($"{host.Name}: removed instance {o.Name}");
                    var done = new InstanceActionOutcome(host.Name, o.Name, InstanceActionStatus.Done, o.Instance);
                    outcomes.Add(done);
                    onDone?.Invoke(done);
                }
            });
        var silent = request.SearchHosts.Where(h => !answered.ContainsKey(h.Name)).Select(h => h.Name).ToList();
        foreach (var n in request.Names.Where(n => !Wildcard.HasWildcards(n) && !outcomes.Any(o => ListInstances.NameMatches(o.Name, o.Target?.InstanceId, [n]))))
            scope.Report.Failure(ListInstances.NotFound(n, silent));
        return outcomes;
    }

    /// <summary>The removed instances that may hold networking to release.</summary>
    public static IReadOnlyList<ReleasedInstance> ToRelease(InstanceActionResult result) =>
        result.Done.Where(o => o.Target is { } t && Networked(t)).Select(o => new ReleasedInstance(o.Host, o.Name, o.Target!.InstanceId)).ToList();
}
