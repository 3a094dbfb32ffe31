using System.Threading.Channels;

namespace VirtFleet.Events;

/// <summary>
/// One host's live subscription to lifecycle events: events arrive on <see cref="Events"/> (written by the source's own
/// thread, read by the caller), which completes when the subscription ends: normally after dispose, with a
/// <see cref="VfException"/> when the host or its connection dropped. Disposing unsubscribes.
/// </summary>
public sealed class DomainEventStream : IAsyncDisposable
{
    private readonly Channel<DomainEvent> _events = Channel.CreateUnbounded<DomainEvent>(new UnboundedChannelOptions { SingleReader = true });
    private Func<ValueTask>? _close;

    public DomainEventStream(string host, string source)
    {
        Host = host;
        Source = source;
    }

    public string Host { get; }
    /// <summary>"native" or "virsh".</summary>
    public string Source { get; }
    public ChannelReader<DomainEvent> Events => _events.Reader;

    /// <summary>Set by the source once it is subscribed: what disposing does.</summary>
    internal void OnClose(Func<ValueTask> close) => _close = close;

    /// <summary>From the source: one event (any thread; never blocks).</summary>
    public void Post(DomainEvent e) => _events.Writer.TryWrite(e);

    /// <summary>From the source: the subscription ended (null: normally).</summary>
    public void End(VfException? error = null) => _events.Writer.TryComplete(error);

    /// <summary>
    /// Reads events until <paramref name="handle"/> returns true (nothing left to wait for), the timeout passes, or the
    /// stream ends; <paramref name="ct"/> cancelling is thrown. Returns how it ended and, for an ended stream, why (null: normally).
    /// </summary>
    public async Task<(DrainEnd End, Exception? Why)> DrainAsync(Func<DomainEvent, bool> handle, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            while (!handle(await Events.ReadAsync(deadline.Token))) { }
            return (DrainEnd.Drained, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return (DrainEnd.TimedOut, null); }
        catch (ChannelClosedException closed) { return (DrainEnd.StreamEnded, closed.InnerException); }
    }

    public async ValueTask DisposeAsync()
    {
        var close = Interlocked.Exchange(ref _close, null);
        End();
        if (close is not null) await close();
    }
}

/// <summary>How <see cref="DomainEventStream.DrainAsync"/> ended.</summary>
public enum DrainEnd { Drained, TimedOut, StreamEnded }
