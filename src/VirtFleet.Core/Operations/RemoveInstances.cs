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
    /// instance as its host answers. The result's network states are those of hosts where a removed instance had networking
    /// (read after the removal in the same round trip).
    /// </summary>
    public static async Task<InstanceActionResult> RunAsync(FleetScope scope, InstanceActionRequest request, CancellationToken ct,
        Action<InstanceActionOutcome>? onDone = null)
    {
        var remove = new InstanceActionRequest
        {
            Action = InstanceAction.Remove, Instances = request.Instances, Names = request.Names, SearchHosts = request.SearchHosts,
            Force = request.Force, TimeoutSeconds = request.TimeoutSeconds,
        };
        // The host's network state, read after the removal in the same round trip, when there is networking to release.
        var (outcomes, states) = await InstanceLifecycle.ActAsync(scope, remove, ct, onDone,
            targets => targets.Any(Networked));
        var result = new InstanceActionResult(outcomes);
        var removed = ToRelease(result);
        if (removed.Count == 0) return result;
        var parsed = new Dictionary<string, HostNetworkState>();
        foreach (var (host, state) in states)
        {
            try { parsed[host] = state.Value; }
            catch (VfException e) { scope.Report.Verbose($"{host}: network state not readable ({e.Message}); reading again"); }
        }
        await new FleetNetworking(scope).ReleaseAsync(removed, parsed, ct);
        return result;
    }

    /// <summary>The removed instances that may hold networking to release.</summary>
    public static IReadOnlyList<ReleasedInstance> ToRelease(InstanceActionResult result) =>
        result.Done.Where(o => o.Target is { } t && Networked(t)).Select(o => new ReleasedInstance(o.Host, o.Name, o.Target!.InstanceId)).ToList();
}
