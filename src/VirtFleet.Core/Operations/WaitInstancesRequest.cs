using VirtFleet.Events;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>Instances to wait for, the state to wait for, and for how long.</summary>
public sealed class WaitInstancesRequest
{
    /// <summary>Instances as read (each names its host).</summary>
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    /// <summary>Instance names or ids (exact), looked up on <see cref="SearchHosts"/>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    public InstanceState State { get; init; } = InstanceState.Running;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>A host's event source (default: <see cref="DomainEventSources.SubscribeAsync"/>: native where the host's native path is up, else virsh).</summary>
    public Func<IRemoteHost, IDomainEventSource>? Source { get; init; }
}
