using VirtFleet.Transport;

namespace VirtFleet.Events;

/// <summary>Which event source a host's events come from when the caller does not choose.</summary>
public static class DomainEventSources
{
    /// <summary>
    /// A source for the host as it can be reached now: libvirt's own events (<see cref="NativeEventSource"/>) through the
    /// host's native path while it is up, else `virsh event` over the host's connection (<see cref="VirshEventSource"/>).
    /// </summary>
    public static IDomainEventSource For(IRemoteHost remote) =>
        remote.NativeLibvirtUri is { } uri && LibvirtNative.NativeLibvirt.IsAvailable
            ? new NativeEventSource(remote.Host.Name, uri)
            : new VirshEventSource(remote);

    /// <summary>
    /// Subscribes to the host's lifecycle events on its chosen libvirt path: brought up first (the native tunnel where the
    /// host uses it), natively where that path is up; a native subscription that fails falls back to `virsh event`
    /// (<paramref name="fellBack"/> hears why). The stream's Source says which it is.
    /// </summary>
    public static async Task<DomainEventStream> SubscribeAsync(IRemoteHost remote, CancellationToken ct, Action<VfException>? fellBack = null)
    {
        await remote.OpenLibvirtAsync(ct);
        var source = For(remote);
        if (source is VirshEventSource) return await source.SubscribeAsync(ct);
        try { return await source.SubscribeAsync(ct); }
        catch (VfException e) when (!ct.IsCancellationRequested)
        {
            fellBack?.Invoke(e);
            return await new VirshEventSource(remote).SubscribeAsync(ct);
        }
    }

    /// <summary>
    /// The caller's chosen source when it gives one (tests), else <see cref="SubscribeAsync(IRemoteHost, CancellationToken, Action{VfException}?)"/>;
    /// a native subscription that fell back to virsh is told to <paramref name="verbose"/>.
    /// </summary>
    public static async Task<DomainEventStream> SubscribeAsync(IRemoteHost remote, Func<IRemoteHost, IDomainEventSource>? chosen,
        Action<string> verbose, CancellationToken ct) =>
        chosen is not null
            ? await chosen(remote).SubscribeAsync(ct)
            : await SubscribeAsync(remote, ct, e => verbose($"{remote.Host.Name}: native events failed, using virsh event: {e.Message}"));
}
