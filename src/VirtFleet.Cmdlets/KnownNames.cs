using System.Collections.Concurrent;
using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets;

/// <summary>
/// The fleet names this session has seen, for tab completion: instances written by Get-/New-VfInstance and the
/// lifecycle cmdlets, networks and security groups from the last read of the fleet's networking definitions,
/// images from Get-VfImage. Completion reads these instead of the hosts.
/// </summary>
public sealed class KnownNames
{
    private readonly ConcurrentDictionary<(string Host, string Name), string?> _instances = new();
    private volatile string[]? _networks;
    private volatile string[]? _groups;
    private volatile (string Address, string? Instance)[]? _addresses;
    private readonly ConcurrentDictionary<string, byte> _images = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Instance names with the host each is on.</summary>
    public IReadOnlyList<(string Host, string Name)> Instances => _instances.Keys.ToList();
    /// <summary>Network names; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<string>? Networks => _networks;
    /// <summary>Security group names; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<string>? Groups => _groups;
    /// <summary>Public addresses with the instance each is associated with; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<(string Address, string? Instance)>? Addresses => _addresses;
    /// <summary>Image names seen on hosts or used by instances.</summary>
    public IReadOnlyList<string> Images => _images.Keys.ToList();
    /// <summary>True once some host's instances were listed in this session.</summary>
    public bool InstancesRead { get; private set; }

    public void Saw(Instance i)
    {
        if (i.IsVirtFleet) SawInstance(i.Host, i.Name, i.Image);
    }

    /// <summary>An instance named <paramref name="name"/> is on <paramref name="host"/>.</summary>
    public void SawInstance(string host, string name, string? image = null)
    {
        _instances[(host, name)] = image;
        if (image is { Length: > 0 }) _images[image] = 0;
        InstancesRead = true;
    }

    public void Gone(string host, string name) => _instances.TryRemove((host, name), out _);

    public void Saw(FleetNetworkState fleet)
    {
        SawNetworks(fleet.Networks.Select(n => n.Name));
        SawGroups(fleet.Groups.Select(g => g.Name));
        SawAddresses(fleet.Addresses.Select(a => (a.Address, a.Associated ? a.Instance : null)));
    }

    /// <summary>These are all of the fleet's public addresses (with their instances, where associated).</summary>
    public void SawAddresses(IEnumerable<(string Address, string? Instance)> addresses) => _addresses = addresses.ToArray();

    /// <summary>These are all of the fleet's networks.</summary>
    public void SawNetworks(IEnumerable<string> names) => _networks = names.ToArray();

    /// <summary>These are all of the fleet's security groups.</summary>
    public void SawGroups(IEnumerable<string> names) => _groups = names.ToArray();

    public void SawImage(string name) => _images[name] = 0;
}
