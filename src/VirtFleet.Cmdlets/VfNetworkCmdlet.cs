global using FleetRead = VirtFleet.Operations.FleetNetworkRead;
using VirtFleet.Inventory;
using VirtFleet.Networking;
using VirtFleet.Operations;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Base of cmdlets that read or change the fleet's networking definitions (networks, security groups, public addresses):
/// each call runs the Core networking service (<see cref="FleetNetworking"/>) on this command's scope.
/// </summary>
public abstract class VfNetworkCmdlet : VfFleetCmdlet
{
    /// <summary>The fleet's networking service on this command's inventory, connection settings and reporter.</summary>
    protected FleetNetworking NetworkService(HostInventory inv) => new(Scope(_inventory = inv));

    protected FleetRead ReadFleet(HostInventory inv, SshOptions options, bool quiet = false) =>
        RunAsync(ct => NetworkService(inv).ReadAsync(ct, quiet));

    protected bool SaveNetworks(FleetRead read, SshOptions options, IEnumerable<VfNetwork> networks) =>
        RunAsync(ct => NetworkService(Inv(read)).SaveNetworksAsync(read, networks, ct));

    protected bool SaveAddresses(FleetRead read, SshOptions options, IEnumerable<AddressRange> pool, IEnumerable<PublicAddress> addresses) =>
        RunAsync(ct => NetworkService(Inv(read)).SaveAddressesAsync(read, pool, addresses, ct));

    protected bool SaveGroups(FleetRead read, SshOptions options, IEnumerable<SecurityGroup> groups) =>
        RunAsync(ct => NetworkService(Inv(read)).SaveGroupsAsync(read, groups, ct));

    protected void CatchUpDocuments(FleetRead read, IEnumerable<string> hostNames, SshOptions options) =>
        RunAsync(ct => NetworkService(Inv(read)).CatchUpDocumentsAsync(read, hostNames, ct));

    protected void Reconcile(FleetRead read, FleetNetworkState fleet, IEnumerable<string> hostNames, SshOptions options,
        bool useKnownState, bool checkOnly, Action<NetworkHostReport>? onReport = null, bool force = false) =>
        RunAsync(ct => NetworkService(Inv(read)).ReconcileAsync(read, fleet, hostNames, useKnownState, checkOnly, ct,
            onReport is null ? null : r => Post(() => onReport(r)), force));

    protected void ReconcileHosts(HostInventory inv, SshOptions options, IReadOnlyDictionary<string, HostNetworkState> states) =>
        RunAsync(ct => NetworkService(inv).ReconcileHostsAsync(states, ct));

    protected static FleetNetworkState With(FleetNetworkState f, IEnumerable<VfNetwork>? networks = null, IEnumerable<SecurityGroup>? groups = null,
        IEnumerable<AddressRange>? pool = null, IEnumerable<PublicAddress>? addresses = null) => FleetNetworking.With(f, networks, groups, pool, addresses);

    protected static IEnumerable<string> HostsWithMembers(FleetRead read, string group) => FleetNetworking.HostsWithMembers(read, group);

    protected void ReleaseNetworking(HostInventory inv, SshOptions options, IReadOnlyList<(string Host, string Name, string? InstanceId)> removed,
        IReadOnlyDictionary<string, HostNetworkState>? states = null) =>
        RunAsync(ct => NetworkService(inv).ReleaseAsync(removed.Select(r => new ReleasedInstance(r.Host, r.Name, r.InstanceId)).ToList(), states, ct));

    protected FleetNetworkState Reserve(FleetRead read, SshOptions options, VfNetwork network,
        IReadOnlyList<(string Host, string Name, string InstanceId, string Mac)> nics) =>
        RunAsync(ct => NetworkService(Inv(read)).ReserveAsync(read, network, nics.Select(n => new NicReservation(n.Host, n.Name, n.InstanceId, n.Mac)).ToList(), ct));

    protected (FleetRead Read, VfNetwork Network)? EnsureDefaultNetwork(HostInventory inv, SshOptions options) =>
        RunAsync(ct => NetworkService(inv).EnsureDefaultNetworkAsync(ct));

    protected static VfException NotFound(string what, string name) => FleetNetworking.NotFound(what, name);

    private HostInventory? _inventory;
    /// <summary>The inventory this command loaded (every networking call of one command works on the same one).</summary>
    private HostInventory Inv(FleetRead read) => _inventory ?? LoadInventory();
}
