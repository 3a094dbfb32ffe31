using System.Net;
using System.Net.Sockets;
using VirtFleet.Libvirt;

namespace VirtFleet.Networking;

/// <summary>
/// A public IPv4 address allocated from the fleet's pool. While associated with an instance it sits on
/// the outside interface of the instance's host (as a /32), traffic to it is DNATed to the instance's
/// reserved address and the instance's outgoing traffic leaves with it as source (SNAT).
/// </summary>
public sealed record PublicAddress
{
    public string Address { get; }
    /// <summary>The interface on the instance's host the address sits on; null = that host's outside interface (its default route's).</summary>
    public string? Interface { get; }
    public string? Instance { get; }
    public string? InstanceId { get; }
    /// <summary>The instance's host while associated.</summary>
    public string? Host { get; }
    /// <summary>The instance's network and its address there (DNAT target).</summary>
    public string? Network { get; }
    public string? PrivateAddress { get; }

    public PublicAddress(string address, string? @interface = null, string? instance = null, string? instanceId = null,
        string? host = null, string? network = null, string? privateAddress = null)
    {
        Address = ParseIPv4(address, "InvalidPublicAddress").ToString();
        Interface = @interface is null ? null : Names.ValidateBridgeName(@interface);
        if (instance is not null)
        {
            Instance = Names.ValidateInstanceName(instance);
            InstanceId = instanceId;
            Host = Names.ValidateInstanceName(host);
            Network = Names.ValidateNetworkName(network);
            PrivateAddress = ParseIPv4(privateAddress ?? "", "InvalidPrivateAddress").ToString();
        }
    }

    /// <summary>
    /// The label VirtFleet gives the addresses it adds to an interface ("eth0:vf"; at most 15 characters, the
    /// interface name shortened when it must be): the mark that tells them from addresses it did not add.
    /// </summary>
    public static string Label(string @interface) => (@interface.Length > 12 ? @interface[..12] : @interface) + ":vf";
    public bool Associated => Instance is not null;

    public PublicAddress Associate(string instance, string instanceId, string host, string network, string privateAddress) =>
        new(Address, Interface, instance, instanceId, host, network, privateAddress);

    public PublicAddress Disassociate() => new(Address, Interface);

    /// <summary>This address on a given interface (the host's outside interface, when the address names none).</summary>
    public PublicAddress On(string @interface) => new(Address, @interface, Instance, InstanceId, Host, Network, PrivateAddress);

    public override string ToString() => Address;

    public static IPAddress ParseIPv4(string text, string errorId)
    {
        if (IPAddress.TryParse(text, out var a) && a.AddressFamily == AddressFamily.InterNetwork && a.ToString() == text)
            return a;
        throw new VfException(errorId, FailureKind.InvalidArgument, $"'{text}' is not an IPv4 address in dotted form.", text);
    }
}

/// <summary>Inclusive IPv4 ranges written "203.0.113.200-203.0.113.220" (or a single address).</summary>
public sealed record AddressRange(IPAddress First, IPAddress Last)
{
    public static AddressRange Parse(string text)
    {
        var parts = (text ?? "").Split('-');
        if (parts.Length is 1 or 2)
        {
            var first = PublicAddress.ParseIPv4(parts[0].Trim(), "InvalidAddressPool");
            var last = parts.Length == 2 ? PublicAddress.ParseIPv4(parts[1].Trim(), "InvalidAddressPool") : first;
            if (VfNetwork.ToUInt(first) <= VfNetwork.ToUInt(last) && VfNetwork.ToUInt(last) - VfNetwork.ToUInt(first) < 65536)
                return new AddressRange(first, last);
        }
        throw new VfException("InvalidAddressPool", FailureKind.InvalidArgument,
            $"'{text}' is not an address range such as 203.0.113.200-203.0.113.220 (low to high, at most 65536 addresses).", text);
    }

    public bool Contains(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork && VfNetwork.ToUInt(a) >= VfNetwork.ToUInt(First) && VfNetwork.ToUInt(a) <= VfNetwork.ToUInt(Last);

    public IEnumerable<IPAddress> All()
    {
        for (var v = VfNetwork.ToUInt(First); v <= VfNetwork.ToUInt(Last); v++) yield return VfNetwork.FromUInt(v);
    }

    public override string ToString() => First.Equals(Last) ? First.ToString() : $"{First}-{Last}";
}
