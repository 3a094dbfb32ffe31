using VirtFleet.LibvirtNative;

namespace VirtFleet.Events;

/// <summary>A host's lifecycle events from libvirt itself (libvirt.so on this machine), through a libvirt URI that reaches its libvirtd.</summary>
public sealed class NativeEventSource(string host, string uri, int keepAliveInterval = 5, uint keepAliveCount = 3, TimeSpan? openTimeout = null) : IDomainEventSource
{
    public string Source => "native";
    public string Uri { get; } = uri;

    public async Task<DomainEventStream> SubscribeAsync(CancellationToken ct)
    {
        var stream = new DomainEventStream(host, Source);
        // Opening connects (blocking): on libvirt's own threads, not the pool's, bounded by the caller's token.
        var open = LibvirtThreads.Shared.Run(() => NativeEventWatch.Open(Uri,
            (name, uuid, type, detail) =>
            {
                var (kind, why) = DomainEventNames.FromNative(type, detail);
                stream.Post(new DomainEvent { Host = host, Name = name, Uuid = uuid, Kind = kind, Detail = why, Time = DateTimeOffset.UtcNow, Source = Source });
            },
            lost => stream.End(FleetError(lost)), keepAliveInterval, keepAliveCount));
        NativeEventWatch watch;
        var bound = openTimeout ?? TimeSpan.FromSeconds(30);
        try { watch = await open.WaitAsync(bound, ct); }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // A connect that returns later is closed then.
            _ = open.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); _ = t.Exception; }, TaskScheduler.Default);
            if (e is TimeoutException)
                throw new VfException("EventSubscribeTimeout", FailureKind.OperationTimeout, $"{host}: libvirt did not answer the event subscription within {bound.TotalSeconds:0} s.", host, e);
            throw;
        }
        catch (VfException e) { throw FleetError(e); }
        stream.OnClose(() => { watch.Dispose(); return ValueTask.CompletedTask; });
        return stream;
    }

    /// <summary>libvirt's error about the URI as an error about the host.</summary>
    private VfException FleetError(VfException e) => new(e.ErrorId, e.Kind, $"{host}: {e.Message}", host, e);
}
