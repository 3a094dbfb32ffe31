using VirtFleet.Model;

namespace VirtFleet.Events;

/// <summary>One lifecycle event of a domain on a host, as libvirt reported it (natively or through `virsh event`).</summary>
public sealed class DomainEvent
{
    /// <summary>The inventory name of the host the domain is on.</summary>
    public string Host { get; init; } = "";
    /// <summary>The domain's (instance's) name.</summary>
    public string Name { get; init; } = "";
    /// <summary>The domain's UUID, when the source reports it (native events do; `virsh event` does not).</summary>
    public Guid? Uuid { get; init; }
    /// <summary>VirtFleet's instance id (i-xxxxxxxx), when the domain is a VirtFleet instance known to the watcher.</summary>
    public string? InstanceId { get; init; }
    public DomainEventKind Kind { get; init; }
    /// <summary>Why, in libvirt's words: Booted, Migrated, Destroyed, Paused, Unpaused, Shutdown, Added, Removed...</summary>
    public string Detail { get; init; } = "";
    /// <summary>When it happened (the host's clock for `virsh event`, this machine's for native events), UTC.</summary>
    public DateTimeOffset Time { get; init; }
    /// <summary>Which path delivered it: "native" (libvirt.so) or "virsh" (virsh event over SSH).</summary>
    public string Source { get; init; } = "";

    /// <summary>The state the domain is in once this event happened, where the event says it (null: Defined, Undefined, Unknown).</summary>
    public InstanceState? ResultingState => DomainEventNames.ResultingState(Kind, Detail);

    public DomainEvent WithInstanceId(string? id) => id == InstanceId ? this : new DomainEvent
    {
        Host = Host, Name = Name, Uuid = Uuid, InstanceId = id, Kind = Kind, Detail = Detail, Time = Time, Source = Source,
    };

    public override string ToString() => $"{Time:u} {Host}/{Name} {Kind} {Detail}";
}
