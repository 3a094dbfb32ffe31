namespace VirtFleet.Events;

/// <summary>Where one host's lifecycle events come from: libvirt's own events (native) or `virsh event` over SSH.</summary>
public interface IDomainEventSource
{
    /// <summary>"native" or "virsh".</summary>
    string Source { get; }

    /// <summary>
    /// Subscribes; returns once the subscription is live, so a state read after it cannot miss a change (virsh: once virsh
    /// has connected to libvirtd and begun its event command). Throws a VfException when the host cannot be subscribed to.
    /// </summary>
    Task<DomainEventStream> SubscribeAsync(CancellationToken ct);
}
