namespace VirtFleet.Model;

public enum InstanceState { Running, Stopped, Paused, ShuttingDown, Crashed, Suspended, Blocked, Unknown }

/// <summary>An instance as read from its host: the libvirt domain and VirtFleet's metadata in it.</summary>
public sealed class Instance
{
    public string Name { get; init; } = "";
    /// <summary>VirtFleet's instance id (i-xxxxxxxx); null for domains VirtFleet did not create.</summary>
    public string? InstanceId { get; init; }
    public string Host { get; init; } = "";
    public InstanceState State { get; init; }
    public string? OsFamily { get; init; }
    public string? OsVariant { get; init; }
    public string? Image { get; init; }
    public string? InstanceType { get; init; }
    public string? KeyPair { get; init; }
    public int Vcpus { get; init; }
    public long MemoryMiB { get; init; }
    public string DomainType { get; init; } = "";
    public Guid? Uuid { get; init; }
    public List<string> Addresses { get; init; } = [];
    public List<string> MacAddresses { get; init; } = [];
    public List<string> Networks { get; init; } = [];
    public List<string> Tags { get; init; } = [];
    public List<string> SecurityGroups { get; init; } = [];
    /// <summary>Anti-affinity group (New-VfInstance -SpreadGroup): its members never share a host.</summary>
    public string? SpreadGroup { get; init; }
    /// <summary>The playbook that created the instance, from its metadata (null: made otherwise, or before owners were recorded).</summary>
    public InstanceOwner? Owner { get; init; }
    public DateTime? Created { get; init; }
    /// <summary>Disk files VirtFleet created for this instance (the only ones it deletes).</summary>
    public List<string> OwnedDisks { get; init; } = [];
    /// <summary>True when VirtFleet created this domain; others are shown with -All and never changed without -Force.</summary>
    public bool IsVirtFleet { get; init; }
    /// <summary>The inventory file the instance was read through: cmdlets it is piped to use it when not given -Inventory.</summary>
    public string? Inventory { get; set; }

    public override string ToString() => Name;
}
