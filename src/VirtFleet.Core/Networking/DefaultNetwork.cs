using System.Net;
using VirtFleet.Inventory;

namespace VirtFleet.Networking;

/// <summary>
/// The network an instance joins when New-VfInstance is given no -Network: the one the inventory names
/// (<c>defaultNetwork:</c>, a VirtFleet network or a libvirt network on the hosts), else VirtFleet's own NAT network
/// <see cref="Name"/>, made on first use on the hosts that answer, in a subnet that overlaps no VirtFleet network and no
/// address on those hosts (<c>defaultNetworkSubnet:</c> in the inventory chooses it).
/// </summary>
public static class DefaultNetwork
{
    public const string Name = "vfdefault";

    /// <summary>The network for an instance: none when opted out, else the one asked for, the inventory's, or <see cref="Name"/>.</summary>
    public static string? For(string? asked, bool none, HostInventory inventory) =>
        none ? null : asked ?? inventory.DefaultNetwork ?? Name;

    /// <summary>Where VirtFleet looks when it makes its default network and the inventory names no subnet: 10.254.0.0/24, 10.254.1.0/24, …</summary>
    public static IEnumerable<IPNetwork> Candidates() =>
        Enumerable.Range(0, 256).Select(i => new IPNetwork(new IPAddress([10, 254, (byte)i, 0]), 24));

    /// <summary>
    /// The first candidate that overlaps no network's subnet and no address on the hosts' interfaces (given as "a.b.c.d/len").
    /// </summary>
    public static IPNetwork PickSubnet(IEnumerable<IPNetwork> candidates, IEnumerable<VfNetwork> networks, IEnumerable<string> hostCidrs)
    {
        var used = networks.Where(n => n.Subnet is not null).Select(n => n.Subnet!.Value)
            .Concat(hostCidrs.Select(VfNetwork.InterfaceNetwork).OfType<IPNetwork>()).ToList();
        foreach (var c in candidates)
            if (!used.Any(u => NetworkStore.Overlaps(u, c))) return c;
        throw new VfException("NoFreeSubnet", FailureKind.ResourceUnavailable,
            $"No free subnet for the default network {Name}: name one in the inventory (defaultNetworkSubnet:) or a network to use (defaultNetwork:).", Name);
    }
}
