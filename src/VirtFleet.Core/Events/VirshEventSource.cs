using VirtFleet.Transport;

namespace VirtFleet.Events;

/// <summary>
/// A host's lifecycle events from <c>virsh event --loop --event lifecycle --timestamp</c>, run on its own channel
/// of the host's pooled SSH connection (the path where libvirt.so is not on this machine). Its lines are parsed as they
/// come; the stream ends with an error when the command or the connection ends.
/// </summary>
public sealed class VirshEventSource(IRemoteHost remote, TimeSpan? readyTimeout = null) : IDomainEventSource
{
    /// <summary>
    /// The first line virsh prints: `uri` answers once virsh has connected to libvirtd, and the event command that follows
    /// subscribes with one more call on that connection. (virsh's `echo` ends no line, so it cannot serve as the marker.)
    /// </summary>
    internal const string ReadyMarker = "qemu:///system";

    /// <summary>Fixed text (nothing user-supplied): stdbuf makes virsh's output line-buffered into the channel.</summary>
    internal const string Command = "stdbuf -oL virsh -q -c " + ReadyMarker + " 'uri; event --loop --event lifecycle --timestamp'";

    public string Source => "virsh";

    public async Task<DomainEventStream> SubscribeAsync(CancellationToken ct)
    {
        var host = remote.Host.Name;
        var stream = new DomainEventStream(host, Source);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = new CancellationTokenSource();
        var run = remote.StreamLinesAsync(Command, line =>
        {
            if (!ready.Task.IsCompleted && line.Trim() == ReadyMarker) ready.TrySetResult();
            else if (VirshEventParser.Parse(line, host) is { } e) stream.Post(e);
        }, stop.Token);
        _ = run.ContinueWith(t =>
        {
            var error = t.IsCanceled ? null : t.Exception?.InnerException is VfException vf ? vf
                : new VfException("EventStreamEnded", FailureKind.ConnectionError,
                    $"{host}: virsh event ended{(t.Exception?.InnerException is { } x ? $" ({x.Message})" : "")}.", host, t.Exception?.InnerException);
            ready.TrySetException(error ?? (Exception)new OperationCanceledException());
            stream.End(error);
        }, TaskScheduler.Default);
        try
        {
            await ready.Task.WaitAsync(readyTimeout ?? TimeSpan.FromSeconds(60), ct);
        }
        catch (Exception ex)
        {
            stop.Cancel();
            if (ex is TimeoutException)
                throw new VfException("EventSubscribeTimeout", FailureKind.OperationTimeout, $"{host}: virsh event did not start within {(readyTimeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s.", host, ex);
            throw;
        }
        stream.OnClose(async () =>
        {
            stop.Cancel();
            try { await run; } catch (Exception) { /* cancelled, or the connection went first */ }
            stop.Dispose();
        });
        return stream;
    }
}
