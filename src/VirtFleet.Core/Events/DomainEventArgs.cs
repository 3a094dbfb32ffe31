namespace VirtFleet.Events;

/// <summary>What a <see cref="FleetEventWatcher"/> raises: an event, or a host's failure (its stream ended or never started).</summary>
public sealed class DomainEventArgs(DomainEvent? domainEvent, VfException? error) : EventArgs
{
    /// <summary>The lifecycle event (null when this reports an error).</summary>
    public DomainEvent? Event { get; } = domainEvent;
    /// <summary>A host's failure (null for an event).</summary>
    public VfException? Error { get; } = error;
    /// <summary>The host the event or error is about.</summary>
    public string? Host => Event?.Host ?? Error?.Target;
}
