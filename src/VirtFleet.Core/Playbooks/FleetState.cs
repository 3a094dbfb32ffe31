using VirtFleet.Model;
using VirtFleet.Networking;

namespace VirtFleet.Playbooks;

/// <summary>
/// What the planner compares a playbook with: a plain snapshot of the hosts the playbook selected, filled by the
/// executor (instances from Get-VfInstance's reader, images from the hosts' stores, key pairs from the local store).
/// </summary>
public sealed record FleetState
{
    /// <summary>The selected hosts that answered; images, networks and security groups are wanted on each.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
    /// <summary>Selected hosts that did not answer: what they hold is unknown, so no instance is created while one is missing.</summary>
    public IReadOnlyList<string> Unread { get; init; } = [];
    /// <summary>Every domain on those hosts, VirtFleet's and others (others are never changed).</summary>
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    public IReadOnlyList<FleetImage> Images { get; init; } = [];
    public IReadOnlyList<string> KeyPairs { get; init; } = [];
    public IReadOnlyList<FleetNetwork> Networks { get; init; } = [];
    public IReadOnlyList<FleetSecurityGroup> SecurityGroups { get; init; } = [];
    public IReadOnlyList<FleetAddress> Addresses { get; init; } = [];
    /// <summary>The encrypted administrator passwords Windows instances left on their consoles (never decrypted here).</summary>
    public IReadOnlyList<FleetPassword> Passwords { get; init; } = [];
    /// <summary>
    /// The instances on the inventory's other hosts (outside the selection): a listed name found there is left where it is,
    /// never created a second time inside the selection.
    /// </summary>
    public IReadOnlyList<Instance> Outside { get; init; } = [];
    /// <summary>Inventory hosts outside the selection that did not answer: a name they might hold is not created.</summary>
    public IReadOnlyList<string> OutsideUnread { get; init; } = [];
}

/// <summary>A Windows instance's administrator password as its console holds it: RSA-OAEP ciphertext (base64) only its key pair opens.</summary>
public sealed record FleetPassword(string Host, string Instance, string UserName, string EncryptedPassword);

/// <summary>An image present on a host.</summary>
public sealed record FleetImage(string Host, string Name);

/// <summary>A network defined on a host; Mode, Subnet and Bridge when known.</summary>
public sealed record FleetNetwork(string Host, string Name, NetworkMode? Mode = null, string? Subnet = null, string? Bridge = null)
{
    public string Describe() => Mode is null ? "defined" : $"{Mode} {Subnet ?? Bridge}".TrimEnd();
}

/// <summary>A security group as a host stores it, and the instances of that host in it (from their metadata).</summary>
public sealed record FleetSecurityGroup(string Host, string Name, IReadOnlyList<SecurityRule> Rules)
{
    public IReadOnlyList<string> Members { get; init; } = [];
}

/// <summary>A public address in the pool and the instance it is associated with, if any.</summary>
public sealed record FleetAddress(string Address, string? Instance = null);
