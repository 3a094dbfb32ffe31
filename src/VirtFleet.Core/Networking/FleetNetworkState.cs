namespace VirtFleet.Networking;

/// <summary>
/// The fleet's networking state as read from every host: the authoritative networks, addresses and
/// groups, and each host's own copy version (what a write to that host must name).
/// </summary>
public sealed class FleetNetworkState
{
    public IReadOnlyList<VfNetwork> Networks { get; init; } = [];
    public long NetworksGeneration { get; init; }
    public IReadOnlyList<AddressRange> Pool { get; init; } = [];
    public IReadOnlyList<PublicAddress> Addresses { get; init; } = [];
    public long AddressesGeneration { get; init; }
    public IReadOnlyList<SecurityGroup> Groups { get; init; } = [];
    public long GroupsGeneration { get; init; }
    /// <summary>Per host: (networks, addresses, groups) versions as read.</summary>
    public IReadOnlyDictionary<string, NetworkStore.HostDocs> Copies { get; init; } = new Dictionary<string, NetworkStore.HostDocs>();

    public VfNetwork? FindNetwork(string name) => Networks.FirstOrDefault(n => n.Name == name);
    public SecurityGroup? FindGroup(string name) => Groups.FirstOrDefault(g => g.Name == name);

    /// <summary>Picks the fleet's documents from the hosts' copies (see <see cref="NetworkStore"/>).</summary>
    public static FleetNetworkState From(IReadOnlyList<NetworkStore.HostDocs> copies)
    {
        var networks = Newest(copies.Select(c => c.Networks), (t, h) => NetworkStore.NetworksFromJson(t, h).Generation);
        var addresses = Newest(copies.Select(c => c.Addresses), (t, h) => NetworkStore.AddressesFromJson(t, h).Generation);
        var groups = Newest(copies.Select(c => c.Groups), (t, h) => SecurityGroupStore.Read(t, h).Generation);
        var (nets, ngen) = networks is null ? ([], 0) : NetworkStore.NetworksFromJson(networks.Text, networks.Host);
        var (pool, addrs, agen) = addresses is null ? ([], [], 0) : NetworkStore.AddressesFromJson(addresses.Text, addresses.Host);
        var (grps, ggen) = groups is null ? ([], 0) : SecurityGroupStore.Read(groups.Text, groups.Host);
        return new FleetNetworkState
        {
            Networks = nets, NetworksGeneration = ngen, Pool = pool, Addresses = addrs, AddressesGeneration = agen,
            Groups = grps, GroupsGeneration = ggen,
            Copies = copies.ToDictionary(c => c.Host),
        };
    }

    /// <summary>
    /// The copy with the highest generation; among copies of one generation with different contents (two writes
    /// that raced), the one most hosts hold, then the lowest version, so every reader picks the same one.
    /// </summary>
    static NetworkStore.HostCopy? Newest(IEnumerable<NetworkStore.HostCopy> copies, Func<string, string, long> generation) =>
        copies.Where(c => c.Version != SecurityGroupStore.Absent)
            .Select(c => (Copy: c, Gen: generation(c.Text, c.Host)))
            .GroupBy(x => (x.Gen, x.Copy.Version))
            .OrderByDescending(g => g.Key.Gen).ThenByDescending(g => g.Count()).ThenBy(g => g.Key.Version, StringComparer.Ordinal)
            .Select(g => g.First().Copy).FirstOrDefault();

    /// <summary>The fleet's copy of each document (text, for hosts that are behind), null when no host has one.</summary>
    public NetworkStore.HostCopy? NewestCopy(string file) => file switch
    {
        NetworkStore.NetworksFile => Newest(Copies.Values.Select(c => c.Networks), (t, h) => NetworkStore.NetworksFromJson(t, h).Generation),
        NetworkStore.AddressesFile => Newest(Copies.Values.Select(c => c.Addresses), (t, h) => NetworkStore.AddressesFromJson(t, h).Generation),
        NetworkStore.GroupsFile => Newest(Copies.Values.Select(c => c.Groups), (t, h) => SecurityGroupStore.Read(t, h).Generation),
        _ => throw new ArgumentOutOfRangeException(nameof(file)),
    };
}
