using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>The fleet's networking definitions and the live state of each host that answered.</summary>
/// <param name="Hosts">The hosts that answered (writes go to them).</param>
/// <param name="Addresses">Every inventory host's address (VXLAN endpoints).</param>
public sealed record FleetNetworkRead(FleetNetworkState Fleet, IReadOnlyDictionary<string, HostNetworkState> Live, IReadOnlyList<HostEntry> Hosts,
    IReadOnlyDictionary<string, string> Addresses)
{
    public FleetNetworkRead(FleetNetworkState fleet, IReadOnlyDictionary<string, HostNetworkState> live, IReadOnlyList<HostEntry> hosts, HostInventory inv)
        : this(fleet, live, hosts, inv.Hosts.ToDictionary(h => h.Name, h => h.Address)) { }
}

/// <summary>An instance that was removed from a host, whose networking is released (<see cref="FleetNetworking.ReleaseAsync"/>).</summary>
public sealed record ReleasedInstance(string Host, string Name, string? InstanceId);

/// <summary>A new instance NIC that gets a stable address in a VirtFleet network (<see cref="FleetNetworking.ReserveAsync"/>).</summary>
public sealed record NicReservation(string Host, string Name, string InstanceId, string Mac);

/// <summary>
/// The fleet's networking service on a <see cref="FleetScope"/>: the definitions (networks, security groups, public
/// addresses) live on every host of the scope's inventory (<see cref="NetworkStore"/>); they are read from all hosts in one
/// round trip each (with each host's live network state), written to all of them, and then each affected host is reconciled
/// (<see cref="NetworkReconciler"/>). The networking operations (<c>NetworkOperations</c>,
/// <c>SecurityGroupOperations</c>, <c>AddressOperations</c>) and instance creation and removal build on it.
/// Everything it has to say goes to the scope's reporter; a failure that ends the whole operation is thrown as a
/// <see cref="VfException"/>.
/// </summary>
public sealed class FleetNetworking(FleetScope scope)
{
    public FleetScope Scope { get; } = scope;
    IOperationReporter Report => Scope.Report;

    /// <summary>Reads every host of the inventory (one round trip each); a host that fails is one failure and is left out
    /// (nothing is reported when <paramref name="quiet"/>). No host in the inventory, or documents that do not parse, throw.</summary>
    public async Task<FleetNetworkRead> ReadAsync(CancellationToken ct, bool quiet = false)
    {
        var inv = Scope.Inventory;
        var hosts = inv.Hosts.ToList();
        if (hosts.Count == 0)
            throw new VfException("NoHosts", FailureKind.ObjectNotFound, $"The inventory {inv.Path} has no hosts.", inv.Path);
        var failed = new List<string>();
        var live = await Scope.ForEachHostAsync(hosts, "Reading networking", HostNetworkState.ReadAsync, ct,
            onFailure: (h, e) => { failed.Add(h.Name); if (!quiet) Report.Failure(e); });
        var fleet = FleetNetworkState.From(live.Values.Select(l => l.Docs).ToList());
        Scope.Seen?.Invoke(fleet);
        if (failed.Count > 0 && !quiet)
            Report.Warning($"Not read: {string.Join(", ", failed.Order(StringComparer.Ordinal))}. Their copies of the networking definitions are not updated by this command; run it again when they answer.");
        return new FleetNetworkRead(fleet, live, hosts.Where(h => live.ContainsKey(h.Name)).ToList(), inv);
    }

    /// <summary>
    /// Writes networks.json (generation + 1) to every host that was read: one failure per host that refused or failed,
    /// then, when it did not reach every host of the inventory, a NetworksNotSaved failure naming them all. False when a
    /// host that was read did not take it.
    /// </summary>
    public Task<bool> SaveNetworksAsync(FleetNetworkRead read, IEnumerable<VfNetwork> networks, CancellationToken ct)
    {
        var generation = read.Fleet.NetworksGeneration + 1;
        var text = NetworkStore.NetworksToJson(networks, generation);
        return SaveAsync(read, NetworkStore.NetworksFile, generation, "NetworksNotSaved",
            (h, c) => NetworkStore.WriteAsync(h, NetworkStore.NetworksFile, text, read.Fleet.Copies[h.Host.Name].Networks.Version, c), ct);
    }

    /// <summary>Writes addresses.json (the pool and the addresses) like <see cref="SaveNetworksAsync"/> (AddressesNotSaved).</summary>
    public Task<bool> SaveAddressesAsync(FleetNetworkRead read, IEnumerable<AddressRange> pool, IEnumerable<PublicAddress> addresses, CancellationToken ct)
    {
        var generation = read.Fleet.AddressesGeneration + 1;
        var text = NetworkStore.AddressesToJson(pool, addresses, generation);
        return SaveAsync(read, NetworkStore.AddressesFile, generation, "AddressesNotSaved",
            (h, c) => NetworkStore.WriteAsync(h, NetworkStore.AddressesFile, text, read.Fleet.Copies[h.Host.Name].Addresses.Version, c), ct);
    }

    /// <summary>Writes groups.json like <see cref="SaveNetworksAsync"/> (SecurityGroupsNotSaved).</summary>
    public Task<bool> SaveGroupsAsync(FleetNetworkRead read, IEnumerable<SecurityGroup> groups, CancellationToken ct)
    {
        var list = groups.ToList();
        var generation = read.Fleet.GroupsGeneration + 1;
        return SaveAsync(read, NetworkStore.GroupsFile, generation, "SecurityGroupsNotSaved",
            (h, c) => SecurityGroupStore.SaveAsync(h, list, generation, read.Fleet.Copies[h.Host.Name].Groups.Version, c), ct);
    }

    /// <summary>
    /// Writes a document to every host that was read; a write that does not reach every host of the inventory (not
    /// read, refused, failed) is a failure naming them, never ignored. The hosts that took it hold the newest generation,
    /// which an older copy never outvotes when the others answer again.
    /// </summary>
    async Task<bool> SaveAsync(FleetNetworkRead read, string file, long generation, string errorId,
        Func<IRemoteHost, CancellationToken, Task<string>> write, CancellationToken ct)
    {
        var saved = new HashSet<string>();
        await Scope.ForEachHostAsync(read.Hosts, "Saving " + file, write, ct, (h, _) => saved.Add(h.Name));
        var missed = read.Addresses.Keys.Where(h => !saved.Contains(h)).Order(StringComparer.Ordinal).ToList();
        if (missed.Count == 0) return true;
        var refused = read.Hosts.Any(h => !saved.Contains(h.Name));
        Report.Failure(new VfException(errorId, FailureKind.ResourceUnavailable,
            $"{file} (generation {generation}) was not written to {string.Join(", ", missed)} (see the errors above); " +
            $"{(saved.Count == 0 ? "no host took it" : "it took effect on " + string.Join(", ", saved.Order(StringComparer.Ordinal)))}. " +
            "The older copy those hosts hold never overrides it; when they answer, run Repair-VfNetwork to bring their copies and firewalls up to date.",
            string.Join(",", missed)));
        return !refused;
    }

    /// <summary>
    /// Brings hosts whose copy of a document is older than the fleet's (they missed a write) up to date: the newest
    /// copy is written to them, each write naming the version read there.
    /// </summary>
    public async Task CatchUpDocumentsAsync(FleetNetworkRead read, IEnumerable<string> hostNames, CancellationToken ct)
    {
        var names = hostNames.ToHashSet();
        // Only a copy whose text is exactly what its host holds (its SHA-256 is its version) is passed on.
        var newest = new[] { NetworkStore.NetworksFile, NetworkStore.AddressesFile, NetworkStore.GroupsFile }
            .Select(f => (File: f, Copy: read.Fleet.NewestCopy(f)))
            .Where(x => x.Copy is not null && NetworkStore.VersionOf(x.Copy.Text) == x.Copy.Version).ToList();
        static NetworkStore.HostCopy Of(NetworkStore.HostDocs d, string file) =>
            file == NetworkStore.NetworksFile ? d.Networks : file == NetworkStore.AddressesFile ? d.Addresses : d.Groups;
        var behind = read.Hosts.Where(h => names.Contains(h.Name) && newest.Any(n => Of(read.Fleet.Copies[h.Name], n.File).Version != n.Copy!.Version)).ToList();
        await Scope.ForEachHostAsync(behind, "Updating networking definitions", async (remote, c) =>
        {
            var written = new List<string>();
            foreach (var (file, copy) in newest)
            {
                var mine = Of(read.Fleet.Copies[remote.Host.Name], file);
                if (mine.Version == copy!.Version) continue;
                await NetworkStore.WriteAsync(remote, file, copy.Text, mine.Version, c);
                written.Add(file);
            }
            return written;
        }, ct, (h, written) => { foreach (var f in written) Report.Verbose($"{h.Name}: {f} brought up to date (it missed a write)"); });
    }

    /// <summary>
    /// Reconciles hosts with the fleet's definitions: re-reads each host's live state unless
    /// <paramref name="useKnownState"/> (nothing ran on it since the read), then applies what differs (only checks when
    /// <paramref name="checkOnly"/>). Each change is a verbose line, each warning a warning; <paramref name="onReport"/>
    /// gets each host's report as it comes (on a worker thread, one at a time).
    /// </summary>
    public async Task ReconcileAsync(FleetNetworkRead read, FleetNetworkState fleet, IEnumerable<string> hostNames, bool useKnownState, bool checkOnly,
        CancellationToken ct, Action<NetworkHostReport>? onReport = null, bool force = false)
    {
        var names = hostNames.ToHashSet();
        var hosts = read.Hosts.Where(h => names.Contains(h.Name)).ToList();
        await Scope.ForEachHostAsync(hosts, checkOnly ? "Checking host networking" : "Applying host networking", async (remote, c) =>
        {
            var live = useKnownState && read.Live.TryGetValue(remote.Host.Name, out var known) ? known : await HostNetworkState.ReadAsync(remote, c);
            return await NetworkReconciler.ReconcileAsync(remote, fleet, live, read.Addresses, checkOnly, c, force);
        }, ct, (_, report) =>
        {
            foreach (var change in report.Changes) Report.Verbose($"{report.Host}: {change}");
            foreach (var w in report.Warnings) Report.Warning($"{report.Host}: {w}");
            onReport?.Invoke(report);
        });
    }

    /// <summary>Reconciles hosts whose network state was just read (in another command's round trip) with the definitions they hold.</summary>
    public async Task ReconcileHostsAsync(IReadOnlyDictionary<string, HostNetworkState> states, CancellationToken ct)
    {
        if (states.Count == 0) return;
        FleetNetworkState local;
        try { local = FleetNetworkState.From(states.Values.Select(s => s.Docs).ToList()); }
        catch (VfException e) { Report.Failure(e); return; }
        var known = new FleetNetworkRead(local, states, Scope.Inventory.Hosts.Where(h => states.ContainsKey(h.Name)).ToList(), Scope.Inventory);
        await ReconcileAsync(known, local, states.Keys, useKnownState: true, checkOnly: false, ct);
    }

    /// <summary>A fleet state with some documents replaced (what was just saved), their generations raised.</summary>
    public static FleetNetworkState With(FleetNetworkState f, IEnumerable<VfNetwork>? networks = null, IEnumerable<SecurityGroup>? groups = null,
        IEnumerable<AddressRange>? pool = null, IEnumerable<PublicAddress>? addresses = null) => new()
    {
        Networks = networks?.ToList() ?? f.Networks, NetworksGeneration = f.NetworksGeneration + (networks is null ? 0 : 1),
        Groups = groups?.ToList() ?? f.Groups, GroupsGeneration = f.GroupsGeneration + (groups is null ? 0 : 1),
        Pool = pool?.ToList() ?? f.Pool, Addresses = addresses?.ToList() ?? f.Addresses,
        AddressesGeneration = f.AddressesGeneration + (addresses is null && pool is null ? 0 : 1), Copies = f.Copies,
    };

    /// <summary>Hosts where an instance in the group is defined.</summary>
    public static IEnumerable<string> HostsWithMembers(FleetNetworkRead read, string group) =>
        read.Live.Where(l => l.Value.Domains.Any(d => d.Info.Metadata?.SecurityGroups.Contains(group) == true)).Select(l => l.Key);

    /// <summary>
    /// After instances were removed: drops their address reservations and disassociates their public addresses
    /// (then the definitions are read from and written to every host), and reconciles their hosts (their chains
    /// go). <paramref name="states"/> are the hosts' network states read in the removal's own round trip: when the
    /// removed instances had no reservation or address there, nothing more is read and only a host whose chains
    /// differ gets one more round trip.
    /// </summary>
    public async Task ReleaseAsync(IReadOnlyList<ReleasedInstance> removed, IReadOnlyDictionary<string, HostNetworkState>? states, CancellationToken ct)
    {
        if (removed.Count == 0) return;
        bool Gone(string host, string name, string? id) =>
            removed.Any(r => r.Host == host && r.Name == name && (id is null || r.InstanceId is null || r.InstanceId == id));
        bool Holds(FleetNetworkState f) =>
            f.Networks.SelectMany(n => n.Reservations).Any(r => Gone(r.Host, r.Instance, r.InstanceId))
            || f.Addresses.Any(a => a.Associated && Gone(a.Host!, a.Instance!, a.InstanceId));
        var hosts = removed.Select(r => r.Host).Distinct().ToList();
        if (states is not null && hosts.All(states.ContainsKey))
        {
            FleetNetworkState local;
            try { local = FleetNetworkState.From(hosts.Select(h => states[h].Docs).ToList()); }
            catch (VfException e) { Report.Failure(e); return; }
            if (!Holds(local))
            {
                var known = new FleetNetworkRead(local, states, Scope.Inventory.Hosts.Where(h => hosts.Contains(h.Name)).ToList(), Scope.Inventory);
                await ReconcileAsync(known, local, hosts, useKnownState: true, checkOnly: false, ct);
                return;
            }
        }
        var read = await ReadAsync(ct, quiet: true);
        var networks = read.Fleet.Networks.Select(n => n.Reservations.Any(r => Gone(r.Host, r.Instance, r.InstanceId))
            ? n.WithReservations(n.Reservations.Where(r => !Gone(r.Host, r.Instance, r.InstanceId))) : n).ToList();
        var addresses = read.Fleet.Addresses.Select(a => a.Associated && Gone(a.Host!, a.Instance!, a.InstanceId) ? a.Disassociate() : a).ToList();
        var netsChanged = !networks.SequenceEqual(read.Fleet.Networks);
        var addrChanged = !addresses.SequenceEqual(read.Fleet.Addresses);
        if (netsChanged) await SaveNetworksAsync(read, networks, ct);
        if (addrChanged) await SaveAddressesAsync(read, read.Fleet.Pool, addresses, ct);
        var fleet = With(read.Fleet, networks: netsChanged ? networks : null, addresses: addrChanged ? addresses : null);
        await ReconcileAsync(read, fleet, hosts, useKnownState: true, checkOnly: false, ct);
    }

    /// <summary>
    /// Reserves a stable address for each new instance NIC in a VirtFleet network, fleet-wide (networks.json on
    /// every host); a reservation left by an earlier attempt under the same instance name is replaced. Returns the fleet
    /// with the reservations; throws ReservationFailed when a host that was read did not take them.
    /// </summary>
    public async Task<FleetNetworkState> ReserveAsync(FleetNetworkRead read, VfNetwork network, IReadOnlyList<NicReservation> nics, CancellationToken ct)
    {
        if (nics.Count == 0 || !network.IsLibvirtNetwork) return read.Fleet;
        var names = nics.Select(n => n.Name).ToHashSet();
        var reservations = network.Reservations.Where(r => !names.Contains(r.Instance)).ToList();
        foreach (var nic in nics)
        {
            var ip = network.WithReservations(reservations).NextFreeAddress();
            reservations.Add(new AddressReservation(nic.Name, nic.InstanceId, nic.Mac, ip.ToString(), nic.Host));
            Report.Verbose($"{nic.Name}: address {ip} in network {network.Name}");
        }
        var networks = read.Fleet.Networks.Select(n => n.Name == network.Name ? n.WithReservations(reservations) : n).ToList();
        if (!await SaveNetworksAsync(read, networks, ct))
            throw new VfException("ReservationFailed", FailureKind.ResourceUnavailable,
                $"Not every host took the address reservations in network {network.Name} (see the errors above); no instance was created. Run the command again.", network.Name);
        return With(read.Fleet, networks: networks);
    }

    /// <summary>
    /// Makes VirtFleet's default network (<see cref="DefaultNetwork.Name"/>, Nat) on the inventory's hosts that answer, in the
    /// inventory's defaultNetworkSubnet or the first free candidate subnet; returns the fleet as read and then changed, or
    /// null when the ShouldProcess question was answered no. An existing one is returned as it is.
    /// </summary>
    public async Task<(FleetNetworkRead Read, VfNetwork Network)?> EnsureDefaultNetworkAsync(CancellationToken ct)
    {
        var read = await ReadAsync(ct);
        if (read.Fleet.FindNetwork(DefaultNetwork.Name) is { } existing) return (read, existing);
        var hosts = read.Hosts.Select(h => h.Name).ToList();
        if (hosts.Count == 0)
            throw new VfException("HostUnavailable", FailureKind.ResourceUnavailable, "No host answered; the default network was not made.", DefaultNetwork.Name);
        var cidrs = read.Live.Values.SelectMany(l => l.Addresses.Select(a => a.Cidr)).ToList();
        var subnet = DefaultNetwork.PickSubnet(Scope.Inventory.DefaultNetworkSubnet is { } s ? [VfNetwork.ParseSubnet(s)] : DefaultNetwork.Candidates(),
            read.Fleet.Networks, cidrs);
        var net = new VfNetwork(DefaultNetwork.Name, NetworkMode.Nat, subnet, hosts, span: false, FreeNetworkId(read.Fleet),
            description: "VirtFleet's default network: instances made without -Network join it");
        NetworkStore.CheckNetworks([.. read.Fleet.Networks, net]);
        if (!Report.ShouldProcess($"{net.Name} (Nat {subnet}) on {string.Join(", ", hosts)}", "Create default network")) return null;
        var networks = read.Fleet.Networks.Append(net).ToList();
        if (!await SaveNetworksAsync(read, networks, ct))
            throw new VfException("DefaultNetworkNotSaved", FailureKind.ResourceUnavailable,
                $"Not every host took the default network {net.Name} (see the errors above); no instance was created. Run the command again.", net.Name);
        var fleet = With(read.Fleet, networks: networks);
        await ReconcileAsync(read, fleet, hosts, useKnownState: true, checkOnly: false, ct);
        Report.Verbose($"made the default network {net.Name} ({subnet}) on {string.Join(", ", hosts)}");
        // Read again: the next write (the instances' reservations) names the versions of networks.json just written.
        var again = await ReadAsync(ct);
        return (again, again.Fleet.FindNetwork(DefaultNetwork.Name) ?? net);
    }

    /// <summary>The lowest network id (VXLAN id, bridge vfn&lt;id&gt;) no network of the fleet has.</summary>
    public static int FreeNetworkId(FleetNetworkState fleet) =>
        Enumerable.Range(VfNetwork.MinId, VfNetwork.MaxId - VfNetwork.MinId).First(i => fleet.Networks.All(n => n.Id != i));

    /// <summary>The ObjectNotFound failure of a networking object: <c>{what}NotFound</c>, "No {what} '{name}' in the fleet.".</summary>
    public static VfException NotFound(string what, string name) =>
        new($"{what}NotFound", FailureKind.ObjectNotFound, $"No {what.ToLowerInvariant()} '{name}' in the fleet.", name);

    /// <summary>The same failure about <paramref name="target"/> (the object the command was about, where the failure named a part of it).</summary>
    public static VfException Retarget(VfException e, string? target) =>
        target is null || e.Target == target ? e : new VfException(e.ErrorId, e.Kind, e.Message, target, e);
}
