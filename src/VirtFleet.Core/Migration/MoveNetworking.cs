using VirtFleet.Libvirt;
using VirtFleet.Networking;
using VirtFleet.Operations;
using VirtFleet.Transport;

namespace VirtFleet.Migration;

/// <summary>
/// How a moved instance's networking follows it: its address reservations and public addresses name the new host in
/// the fleet's documents (written to every host), the new host gets its chains before the guest arrives and its
/// reservation, public address and nat rules right after, and the old host lets go of them. PowerShell-free; uses
/// <see cref="NetworkReconciler"/> for every change on a host.
/// </summary>
public sealed class MoveNetworking
{
    public required FleetNetworkState Fleet { get; init; }
    public required IReadOnlyDictionary<string, HostNetworkState> Live { get; init; }
    public required IReadOnlyDictionary<string, string> HostAddresses { get; init; }

    /// <summary>Reads every inventory host's documents and live network state (one round trip each); hosts that fail are reported.</summary>
    public static async Task<MoveNetworking> ReadAsync(FleetScope scope, CancellationToken ct)
    {
        var live = await scope.ForEachHostAsync(scope.Inventory.Hosts, "Reading host networking", HostNetworkState.ReadAsync, ct,
            onFailure: (h, e) => scope.Report.Warning($"{h.Name}: networking not read ({e.Message}); its copy of the definitions is not updated by this move"));
        return new MoveNetworking
        {
            Fleet = FleetNetworkState.From(live.Values.Select(l => l.Docs).ToList()),
            Live = live,
            HostAddresses = scope.Inventory.Hosts.ToDictionary(h => h.Name, h => h.Address),
        };
    }

    /// <summary>The tap name a moved NIC gets on its new host: fixed in advance, so its chains are in place before the guest arrives.</summary>
    public static string TapName(string instanceId, int index)
    {
        var hex = instanceId.StartsWith("i-") ? instanceId[2..] : instanceId;
        if (hex.Length == 0 || hex.Length > 10 || !hex.All(Uri.IsHexDigit)) throw new VfException("InvalidInstanceId", FailureKind.InvalidData, $"instance id '{instanceId}' is not i-<hex>", instanceId);
        return Names.ValidateBridgeName($"vft{hex}{index:x}");
    }

    /// <summary>The documents as they are once the instance runs on <paramref name="destination"/>.</summary>
    public FleetNetworkState After(string instance, string instanceId, string source, string destination, out bool networksChanged, out bool addressesChanged)
    {
        var networks = Fleet.Networks.Select(n => n.Reservations.Any(r => r.Instance == instance && r.Host == source)
            ? n.WithReservations(n.Reservations.Select(r => r.Instance == instance && r.Host == source ? r with { Host = destination } : r))
            : n).ToList();
        var addresses = Fleet.Addresses.Select(a => a.Associated && a.Instance == instance && a.Host == source
            ? a.Associate(instance, a.InstanceId ?? instanceId, destination, a.Network!, a.PrivateAddress!) : a).ToList();
        networksChanged = !networks.SequenceEqual(Fleet.Networks);
        addressesChanged = !addresses.SequenceEqual(Fleet.Addresses);
        return new FleetNetworkState
        {
            Networks = networks, NetworksGeneration = Fleet.NetworksGeneration + (networksChanged ? 1 : 0),
            Groups = Fleet.Groups, GroupsGeneration = Fleet.GroupsGeneration,
            Pool = Fleet.Pool, Addresses = addresses, AddressesGeneration = Fleet.AddressesGeneration + (addressesChanged ? 1 : 0),
            Copies = Fleet.Copies,
        };
    }

    /// <summary>A host's live state with the moved instance's domain added as running there (with the taps it will get).</summary>
    public static HostNetworkState WithDomain(HostNetworkState live, DomainInfo domain) => new()
    {
        Host = live.Host, Docs = live.Docs,
        Domains = [.. live.Domains.Where(d => d.Info.Name != domain.Name), new LiveDomain(domain, "running")],
        Networks = live.Networks, Vxlans = live.Vxlans, Links = live.Links, Addresses = live.Addresses,
        OutsideInterface = live.OutsideInterface, OurAddresses = live.OurAddresses, LeasesByMac = live.LeasesByMac,
        DhcpHosts = live.DhcpHosts, FilterText = live.FilterText, NatText = live.NatText,
    };

    /// <summary>Reconciles one host with <paramref name="fleet"/>, as it is (<paramref name="known"/>) or read afresh; reports what changed.</summary>
    public async Task<NetworkHostReport> ApplyAsync(FleetScope scope, IRemoteHost host, FleetNetworkState fleet, HostNetworkState? known, bool force, CancellationToken ct)
    {
        var live = known ?? await HostNetworkState.ReadAsync(host, ct);
        var report = await NetworkReconciler.ReconcileAsync(host, fleet, live, HostAddresses, checkOnly: false, ct, force);
        foreach (var c in report.Changes) scope.Report.Verbose($"{report.Host}: {c}");
        foreach (var w in report.Warnings.Where(w => !w.Contains("is not on " + host.Host.Name))) scope.Report.Warning($"{report.Host}: {w}");
        return report;
    }

    /// <summary>
    /// Before a live move: the destination gets everything of the instance's networking as it will be once it runs there
    /// (its chains and the jumps for the taps it will have, its DHCP reservation, the nat rules and the ACCEPT of its public
    /// address) except the public address itself, which goes on the interface at the switch-over (<see cref="SwitchArgs"/>).
    /// </summary>
    public async Task PreApplyAsync(FleetScope scope, IRemoteHost host, FleetNetworkState after, HostNetworkState liveWithInstance, CancellationToken ct)
    {
        // Everything but the public addresses themselves (they move at the switch-over), rewritten even where it matches.
        var report = await NetworkReconciler.ReconcileAsync(host, after, liveWithInstance, HostAddresses, checkOnly: false, ct,
            force: true, addPublicAddresses: false);
        foreach (var c in report.Changes) scope.Report.Verbose($"{host.Host.Name}: {c}");
        foreach (var w in report.Warnings) scope.Report.Warning($"{host.Host.Name}: {w}");
    }

    /// <summary>Writes the changed documents (generation + 1) to every host that was read; a write that misses a host is reported.</summary>
    public async Task SaveAsync(FleetScope scope, FleetNetworkState after, bool networksChanged, bool addressesChanged, CancellationToken ct)
    {
        var hosts = scope.Inventory.Hosts.Where(h => Live.ContainsKey(h.Name)).ToList();
        async Task Save(string file, string text, Func<NetworkStore.HostDocs, NetworkStore.HostCopy> copy, string errorId, long generation)
        {
            var saved = await scope.ForEachHostAsync(hosts, "Saving " + file,
                (h, c) => NetworkStore.WriteAsync(h, file, text, copy(Fleet.Copies[h.Host.Name]).Version, c), ct);
            var missed = scope.Inventory.Hosts.Select(h => h.Name).Where(h => !saved.ContainsKey(h)).ToList();
            if (missed.Count > 0)
                scope.Report.Failure(new VfException(errorId, FailureKind.ResourceUnavailable,
                    $"{file} (generation {generation}) was not written to {string.Join(", ", missed)}; the move itself is done. When they answer, run Repair-VfNetwork to bring their copies up to date.",
                    string.Join(",", missed)));
        }
        if (networksChanged)
            await Save(NetworkStore.NetworksFile, NetworkStore.NetworksToJson(after.Networks, after.NetworksGeneration), d => d.Networks, "NetworksNotSaved", after.NetworksGeneration);
        if (addressesChanged)
            await Save(NetworkStore.AddressesFile, NetworkStore.AddressesToJson(after.Pool, after.Addresses, after.AddressesGeneration), d => d.Addresses, "AddressesNotSaved", after.AddressesGeneration);
    }

    /// <summary>
    /// The switch-over on the new host, as (kind, device, address, label) groups for <see cref="MigrationScripts.Announce"/>:
    /// each public address of the instance goes on its interface there (VirtFleet's label) and is announced; each other
    /// host's gateway of the instance's non-spanning VirtFleet networks is added to the network's bridge there (the guest
    /// keeps routing through the one it learned by DHCP until its lease renews) and the old host's is announced.
    /// </summary>
    public IReadOnlyList<string> SwitchArgs(DomainInfo domain, string source, string destination, FleetNetworkState after)
    {
        var args = new List<string>();
        var outside = Live.TryGetValue(destination, out var l) ? l.OutsideInterface : null;
        foreach (var a in after.Addresses.Where(a => a.Associated && a.Instance == domain.Name && a.Host == destination))
            if ((a.Interface ?? outside) is { } iface) args.AddRange(["pub", Names.ValidateBridgeName(iface), a.Address, PublicAddress.Label(iface)]);
        foreach (var nic in domain.Interfaces.Where(i => i.Source is not null))
        {
            var net = after.FindNetwork(nic.Source!);
            if (net is null || !net.IsLibvirtNetwork || net.Span || !net.Gateways.ContainsKey(destination)) continue;
            foreach (var (host, gw) in net.Gateways.Where(g => g.Key != destination).OrderBy(g => g.Key == source ? 0 : 1))
                args.AddRange([host == source ? "gw" : "gwquiet", net.Bridge, gw, net.Bridge + ":g"]);
        }
        return args;
    }

    /// <summary>The DHCP reservation files of the instance's NICs on a host (what a failed move's undo removes there).</summary>
    public IReadOnlyList<string> ReservationFiles(DomainInfo domain) =>
        domain.Interfaces.Where(i => i.Mac is not null && i.Source is not null)
            .Select(i => (Net: Fleet.FindNetwork(i.Source!), Mac: MacAddress.Normalize(i.Mac!)))
            .Where(x => x.Net is { IsLibvirtNetwork: true })
            .Select(x => x.Net!.DhcpHostsDir + "/" + x.Mac).ToList();
}
