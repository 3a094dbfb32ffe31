using VirtFleet.Hosts;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>
/// Host checks (Test-VfHost, Get-VfHost -Detailed): one probe per host (reachability, libvirt and qemu, hardware
/// virtualization, memory, disk, load), hosts in parallel; an unreachable host is one error and never holds up the others.
/// </summary>
public static class HostChecks
{
    /// <summary>
    /// Probes the hosts; <paramref name="onFacts"/> gets each host's facts as it answers. With <paramref name="includeNetwork"/>,
    /// the fleet's networking is read first (quietly) and each host's is compared with it: what differs is added to its problems.
    /// </summary>
    public static async Task<IReadOnlyList<HostFacts>> ProbeAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts, CancellationToken ct,
        Action<HostFacts>? onFacts = null, bool includeNetwork = false, string activity = "Testing hosts")
    {
        var network = includeNetwork ? await new FleetNetworking(scope).ReadAsync(ct, quiet: true) : null;
        var all = new List<HostFacts>();
        await scope.ForEachHostAsync(hosts, activity, HostProbe.ProbeAsync, ct, (_, facts) =>
        {
            if (network is not null) facts.Problems.AddRange(NetworkProblems(network, facts.Name));
            all.Add(facts);
            onFacts?.Invoke(facts);
        });
        return all;
    }

    /// <summary>How a host's networking differs from the fleet's definitions (what Repair-VfNetwork would fix), each prefixed "network: ".</summary>
    public static IReadOnlyList<string> NetworkProblems(FleetNetworkRead network, string host)
    {
        if (!network.Live.TryGetValue(host, out var live)) return ["network: the host's network state could not be read"];
        try
        {
            var want = Networking.NetworkReconciler.Plan(network.Fleet, live);
            return Networking.NetworkReconciler.Check(network.Fleet, live, want, network.Addresses).Select(p => "network: " + p).ToList();
        }
        catch (VfException e) { return ["network: " + e.Message]; }
    }
}
