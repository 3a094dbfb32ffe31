using VirtFleet.Events;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>Which hosts' lifecycle events to stream, which of them to pass on, and when to stop.</summary>
public sealed class WatchEventsRequest
{
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];
    /// <summary>Only events of instances with these names or ids (wildcards); empty: every domain.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>Only events of these kinds; empty: every kind.</summary>
    public IReadOnlyList<DomainEventKind> Kinds { get; init; } = [];
    /// <summary>Stop after this long (null: until cancelled or every host's stream ended).</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Stop after this many events passed on (0: no limit).</summary>
    public int MaxEvents { get; init; }
    /// <summary>A host's event source (default: <see cref="DomainEventSources.SubscribeAsync"/>: native where the host's native path is up, else virsh).</summary>
    public Func<IRemoteHost, IDomainEventSource>? Source { get; init; }
}
