using VirtFleet.Model;

namespace VirtFleet.Instances;

/// <summary>What a batch of new instances asks for.</summary>
public sealed class CreateRequest
{
    public string Image { get; init; } = "";
    public InstanceType Type { get; init; } = InstanceType.Find(InstanceType.DefaultName);
    public string? KeyPair { get; init; }
    public IReadOnlyList<string> PublicKeys { get; init; } = [];
    public string? UserData { get; init; }
    public string? Network { get; init; }
    /// <summary>A host bridge to plug the NIC into instead of a libvirt network (a Bridged VirtFleet network named <see cref="Network"/>).</summary>
    public string? NetworkBridge { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The playbook creating the instance (recorded in its metadata; what that playbook's prune goes by).</summary>
    public InstanceOwner? Owner { get; init; }
    /// <summary>Security groups the instances join (recorded in their metadata; the firewall follows it).</summary>
    public IReadOnlyList<string> SecurityGroups { get; init; } = [];
    /// <summary>Anti-affinity group (recorded in the metadata): its members never share a host.</summary>
    public string? SpreadGroup { get; init; }
}
