using System.Collections.Concurrent;
using VirtFleet.Inventory;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Base of cmdlets that read or change the fleet's networking definitions (networks, security groups,
/// public addresses). The definitions live on every host of the inventory (<see cref="NetworkStore"/>):
/// they are read from all hosts in one round trip each (with each host's live network state), written to
/// all of them, and then each affected host is reconciled (<see cref="NetworkReconciler"/>).
/// </summary>
public abstract class VfNetworkCmdlet : VfFleetCmdlet
{
    /// <summary>The fleet's definitions and the live state of each host that answered.</summary>
    /// <param name="Hosts">The hosts that answered (writes go to them).</param>
    /// <param name="Addresses">Every inventory host's address (VXLAN endpoints).</param>
    protected sealed record FleetRead(FleetNetworkState Fleet, IReadOnlyDictionary<string, HostNetworkState> Live, IReadOnlyList<HostEntry> Hosts,
        IReadOnlyDictionary<string, string> Addresses)
    {
        public FleetRead(FleetNetworkState fleet, IReadOnlyDictionary<string, HostNetworkState> live, IReadOnlyList<HostEntry> hosts, HostInventory inv)
            : this(fleet, live, hosts, inv.Hosts.ToDictionary(h => h.Name, h => h.Address)) { }
    }

    /// <summary>Reads every host of the inventory (one round trip each); a host that fails is one error and is left out.</summary>
    protected FleetRead ReadFleet(HostInventory inv, SshOptions options, bool quiet = false)
    {
        var live = new ConcurrentDictionary<string, HostNetworkState>();
        var failed = new List<string>();
        var hosts = inv.Hosts.ToList();
        if (hosts.Count == 0)
            ThrowFailure(new VfException("NoHosts", FailureKind.ObjectNotFound, $"The inventory {inv.Path} has no hosts.", inv.Path));
        RunAsync(async ct =>
        {
            var results = FanOut.RunAsync(hosts, (h, c) => HostNetworkState.ReadAsync(Session.Pool.Get(h, options), c), ThrottleLimit,
                TimeSpan.FromSeconds(OperationTimeout) + TimeSpan.FromSeconds(ConnectTimeout) * 2, ct);
            await foreach (var r in results)
            {
                if (r.Error is null) live[r.Host.Name] = r.Value!;
                else { lock (failed) failed.Add(r.Host.Name); if (!quiet) PostFailure(r.Error, r.Host.Name); }
            }
        });
        FleetNetworkState fleet;
        try { fleet = FleetNetworkState.From(live.Values.Select(l => l.Docs).ToList()); }
        catch (VfException e) { ThrowFailure(e); throw; }
        Session.Known.Saw(fleet);
        if (failed.Count > 0 && !quiet)
            WriteWarning($"Not read: {string.Join(", ", failed.Order())}. Their copies of the networking definitions are not updated by this command; run it again when they answer.");
        return new FleetRead(fleet, live, hosts.Where(h => live.ContainsKey(h.Name)).ToList(), inv);
    }

    /// <summary>
    /// Writes networks.json (generation + 1) to every host that was read: one error per host that refused or failed,
    /// then, when it did not reach every host of the inventory, a NetworksNotSaved error naming them all. False when a
    /// host that was read did not take it.
    /// </summary>
    protected bool SaveNetworks(FleetRead read, SshOptions options, IEnumerable<VfNetwork> networks)
    {
        var generation = read.Fleet.NetworksGeneration + 1;
        var text = NetworkStore.NetworksToJson(networks, generation);
        return Save(read, options, NetworkStore.NetworksFile, generation, "NetworksNotSaved",
            (h, c) => NetworkStore.WriteAsync(h, NetworkStore.NetworksFile, text, read.Fleet.Copies[h.Host.Name].Networks.Version, c));
    }

    protected bool SaveAddresses(FleetRead read, SshOptions options, IEnumerable<AddressRange> pool, IEnumerable<PublicAddress> addresses)
    {
        var generation = read.Fleet.AddressesGeneration + 1;
        var text = NetworkStore.AddressesToJson(pool, addresses, generation);
        return Save(read, options, NetworkStore.AddressesFile, generation, "AddressesNotSaved",
            (h, c) => NetworkStore.WriteAsync(h, NetworkStore.AddressesFile, text, read.Fleet.Copies[h.Host.Name].Addresses.Version, c));
    }

    protected bool SaveGroups(FleetRead read, SshOptions options, IEnumerable<SecurityGroup> groups)
    {
        var list = groups.ToList();
        var generation = read.Fleet.GroupsGeneration + 1;
        return Save(read, options, NetworkStore.GroupsFile, generation, "SecurityGroupsNotSaved",
            (h, c) => SecurityGroupStore.SaveAsync(h, list, generation, read.Fleet.Copies[h.Host.Name].Groups.Version, c));
    }

    /// <summary>
    /// Writes a document to every host that was read; a write that does not reach every host of the inventory (not
    /// read, refused, failed) is an error naming them, never ignored. The hosts that took it hold the newest generation,
    /// which an older copy never outvotes when the others answer again.
    /// </summary>
    bool Save(FleetRead read, SshOptions options, string file, long generation, string errorId, Func<IRemoteHost, CancellationToken, Task<string>> write)
    {
        var saved = new HashSet<string>();
        ForEachHost(read.Hosts, options, "Saving " + file, write, (h, _) => saved.Add(h.Name));
        var missed = read.Addresses.Keys.Where(h => !saved.Contains(h)).Order(StringComparer.Ordinal).ToList();
        if (missed.Count == 0) return true;
        var refused = read.Hosts.Any(h => !saved.Contains(h.Name));
        WriteFailure(new VfException(errorId, FailureKind.ResourceUnavailable,
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
    protected void CatchUpDocuments(FleetRead read, IEnumerable<string> hostNames, SshOptions options)
    {
        var names = hostNames.ToHashSet();
        // Only a copy whose text is exactly what its host holds (its SHA-256 is its version) is passed on.
        var newest = new[] { NetworkStore.NetworksFile, NetworkStore.AddressesFile, NetworkStore.GroupsFile }
            .Select(f => (File: f, Copy: read.Fleet.NewestCopy(f)))
            .Where(x => x.Copy is not null && NetworkStore.VersionOf(x.Copy.Text) == x.Copy.Version).ToList();
        static NetworkStore.HostCopy Of(NetworkStore.HostDocs d, string file) =>
            file == NetworkStore.NetworksFile ? d.Networks : file == NetworkStore.AddressesFile ? d.Addresses : d.Groups;
        var behind = read.Hosts.Where(h => names.Contains(h.Name) && newest.Any(n => Of(read.Fleet.Copies[h.Name], n.File).Version != n.Copy!.Version)).ToList();
        ForEachHost(behind, options, "Updating networking definitions", async (remote, ct) =>
        {
            var written = new List<string>();
            foreach (var (file, copy) in newest)
            {
                var mine = Of(read.Fleet.Copies[remote.Host.Name], file);
                if (mine.Version == copy!.Version) continue;
                await NetworkStore.WriteAsync(remote, file, copy.Text, mine.Version, ct);
                written.Add(file);
            }
            return written;
        }, (h, written) => { foreach (var f in written) WriteVerbose($"{h.Name}: {f} brought up to date (it missed a write)"); });
    }

    /// <summary>
    /// Reconciles hosts with the fleet's definitions: re-reads each host's live state unless
    /// <paramref name="useKnownState"/> (nothing ran on it since the read), then applies what differs.
    /// </summary>
    protected void Reconcile(FleetRead read, FleetNetworkState fleet, IEnumerable<string> hostNames, SshOptions options,
        bool useKnownState, bool checkOnly, Action<NetworkHostReport>? onReport = null, bool force = false)
    {
        var names = hostNames.ToHashSet();
        var hosts = read.Hosts.Where(h => names.Contains(h.Name)).ToList();
        ForEachHost(hosts, options, checkOnly ? "Checking host networking" : "Applying host networking", async (remote, ct) =>
        {
            var live = useKnownState && read.Live.TryGetValue(remote.Host.Name, out var known) ? known : await HostNetworkState.ReadAsync(remote, ct);
            return await NetworkReconciler.ReconcileAsync(remote, fleet, live, read.Addresses, checkOnly, ct, force);
        }, (_, report) =>
        {
            foreach (var c in report.Changes) WriteVerbose($"{report.Host}: {c}");
            foreach (var w in report.Warnings) WriteWarning($"{report.Host}: {w}");
            onReport?.Invoke(report);
        });
    }

    /// <summary>Reconciles hosts whose network state was just read (in another command's round trip) with the definitions they hold.</summary>
    protected void ReconcileHosts(HostInventory inv, SshOptions options, IReadOnlyDictionary<string, HostNetworkState> states)
    {
        if (states.Count == 0) return;
        FleetNetworkState local;
        try { local = FleetNetworkState.From(states.Values.Select(s => s.Docs).ToList()); }
        catch (VfException e) { WriteFailure(e); return; }
        var known = new FleetRead(local, states, inv.Hosts.Where(h => states.ContainsKey(h.Name)).ToList(), inv);
        Reconcile(known, local, states.Keys, options, useKnownState: true, checkOnly: false);
    }

    /// <summary>A fleet state with some documents replaced (what was just saved).</summary>
    protected static FleetNetworkState With(FleetNetworkState f, IEnumerable<VfNetwork>? networks = null, IEnumerable<SecurityGroup>? groups = null,
        IEnumerable<AddressRange>? pool = null, IEnumerable<PublicAddress>? addresses = null) => new()
    {
        Networks = networks?.ToList() ?? f.Networks, NetworksGeneration = f.NetworksGeneration + (networks is null ? 0 : 1),
        Groups = groups?.ToList() ?? f.Groups, GroupsGeneration = f.GroupsGeneration + (groups is null ? 0 : 1),
        Pool = pool?.ToList() ?? f.Pool, Addresses = addresses?.ToList() ?? f.Addresses,
        AddressesGeneration = f.AddressesGeneration + (addresses is null && pool is null ? 0 : 1), Copies = f.Copies,
    };

    /// <summary>Hosts where an instance in one of these groups is defined.</summary>
    protected static IEnumerable<string> HostsWithMembers(FleetRead read, string group) =>
        read.Live.Where(l => l.Value.Domains.Any(d => d.Info.Metadata?.SecurityGroups.Contains(group) == true)).Select(l => l.Key);

    /// <summary>
    /// After instances were removed: drops their address reservations and disassociates their public addresses
    /// (then the definitions are read from and written to every host), and reconciles their hosts (their chains
    /// go). <paramref name="states"/> are the hosts' network states read in the removal's own round trip: when the
    /// removed instances had no reservation or address there, nothing more is read and only a host whose chains
    /// differ gets one more round trip.
    /// </summary>
    protected void ReleaseNetworking(HostInventory inv, SshOptions options, IReadOnlyList<(string Host, string Name, string? InstanceId)> removed,
        IReadOnlyDictionary<string, HostNetworkState>? states = null)
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
            catch (VfException e) { WriteFailure(e); return; }
            if (!Holds(local))
            {
                var known = new FleetRead(local, states, inv.Hosts.Where(h => hosts.Contains(h.Name)).ToList(), inv);
                Reconcile(known, local, hosts, options, useKnownState: true, checkOnly: false);
                return;
            }
        }
        var read = ReadFleet(inv, options, quiet: true);
        var networks = read.Fleet.Networks.Select(n => n.Reservations.Any(r => Gone(r.Host, r.Instance, r.InstanceId))
            ? n.WithReservations(n.Reservations.Where(r => !Gone(r.Host, r.Instance, r.InstanceId))) : n).ToList();
        var addresses = read.Fleet.Addresses.Select(a => a.Associated && Gone(a.Host!, a.Instance!, a.InstanceId) ? a.Disassociate() : a).ToList();
        var netsChanged = !networks.SequenceEqual(read.Fleet.Networks);
        var addrChanged = !addresses.SequenceEqual(read.Fleet.Addresses);
        if (netsChanged) SaveNetworks(read, options, networks);
        if (addrChanged) SaveAddresses(read, options, read.Fleet.Pool, addresses);
        var fleet = With(read.Fleet, networks: netsChanged ? networks : null, addresses: addrChanged ? addresses : null);
        Reconcile(read, fleet, hosts, options, useKnownState: true, checkOnly: false);
    }

    /// <summary>
    /// Reserves a stable address for each new instance NIC in a VirtFleet network, fleet-wide (networks.json on
    /// every host); a reservation left by an earlier attempt under the same instance name is replaced.
    /// </summary>
    protected FleetNetworkState Reserve(FleetRead read, SshOptions options, VfNetwork network,
        IReadOnlyList<(string Host, string Name, string InstanceId, string Mac)> nics)
    {
        if (nics.Count == 0 || !network.IsLibvirtNetwork) return read.Fleet;
        var names = nics.Select(n => n.Name).ToHashSet();
        var reservations = network.Reservations.Where(r => !names.Contains(r.Instance)).ToList();
        foreach (var nic in nics)
        {
            var ip = network.WithReservations(reservations).NextFreeAddress();
            reservations.Add(new AddressReservation(nic.Name, nic.InstanceId, nic.Mac, ip.ToString(), nic.Host));
            WriteVerbose($"{nic.Name}: address {ip} in network {network.Name}");
        }
        var networks = read.Fleet.Networks.Select(n => n.Name == network.Name ? n.WithReservations(reservations) : n).ToList();
        if (!SaveNetworks(read, options, networks))
            throw new VfException("ReservationFailed", FailureKind.ResourceUnavailable,
                $"Not every host took the address reservations in network {network.Name} (see the errors above); no instance was created. Run the command again.", network.Name);
        return With(read.Fleet, networks: networks);
    }

    /// <summary>
    /// Makes VirtFleet's default network (<see cref="DefaultNetwork.Name"/>, Nat) on the inventory's hosts that answer, in the
    /// inventory's defaultNetworkSubnet or the first free candidate subnet; returns the fleet as read and then changed, or
    /// null when -WhatIf (or the user) declined. An existing one is returned as it is.
    /// </summary>
    protected (FleetRead Read, VfNetwork Network)? EnsureDefaultNetwork(HostInventory inv, SshOptions options)
    {
        var read = ReadFleet(inv, options);
        if (read.Fleet.FindNetwork(DefaultNetwork.Name) is { } existing) return (read, existing);
        var hosts = read.Hosts.Select(h => h.Name).ToList();
        if (hosts.Count == 0)
            throw new VfException("HostUnavailable", FailureKind.ResourceUnavailable, "No host answered; the default network was not made.", DefaultNetwork.Name);
        var cidrs = read.Live.Values.SelectMany(l => l.Addresses.Select(a => a.Cidr)).ToList();
        var subnet = DefaultNetwork.PickSubnet(inv.DefaultNetworkSubnet is { } s ? [VfNetwork.ParseSubnet(s)] : DefaultNetwork.Candidates(),
            read.Fleet.Networks, cidrs);
        var id = Enumerable.Range(VfNetwork.MinId, VfNetwork.MaxId - VfNetwork.MinId).First(i => read.Fleet.Networks.All(n => n.Id != i));
        var net = new VfNetwork(DefaultNetwork.Name, NetworkMode.Nat, subnet, hosts, span: false, id,
            description: "VirtFleet's default network: instances made without -Network join it");
        NetworkStore.CheckNetworks([.. read.Fleet.Networks, net]);
        if (!ShouldProcess($"{net.Name} (Nat {subnet}) on {string.Join(", ", hosts)}", "Create default network")) return null;
        var networks = read.Fleet.Networks.Append(net).ToList();
        if (!SaveNetworks(read, options, networks))
            throw new VfException("DefaultNetworkNotSaved", FailureKind.ResourceUnavailable,
                $"Not every host took the default network {net.Name} (see the errors above); no instance was created. Run the command again.", net.Name);
        var fleet = With(read.Fleet, networks: networks);
        Reconcile(read, fleet, hosts, options, useKnownState: true, checkOnly: false);
        WriteVerbose($"made the default network {net.Name} ({subnet}) on {string.Join(", ", hosts)}");
        // Read again: the next write (the instances' reservations) names the versions of networks.json just written.
        var again = ReadFleet(inv, options);
        return (again, again.Fleet.FindNetwork(DefaultNetwork.Name) ?? net);
    }

    protected static VfException NotFound(string what, string name) =>
        new($"{what}NotFound", FailureKind.ObjectNotFound, $"No {what.ToLowerInvariant()} '{name}' in the fleet.", name);
}
