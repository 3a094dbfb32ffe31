using VirtFleet.Operations;

namespace VirtFleet.Events;

/// <summary>
/// Runs <see cref="WatchEvents"/> in the background until stopped and raises <see cref="Received"/> for each event and each
/// host failure (from the event sources' threads): the .NET event PowerShell's event system subscribes to
/// (Register-VfInstanceEvent), as Register-ObjectEvent subscribes to any object's event.
/// </summary>
public sealed class FleetEventWatcher : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    /// <summary>An event or a host's failure.</summary>
    public event EventHandler<DomainEventArgs>? Received;

    /// <summary>The hosts subscribed to so far, with their source (native or virsh).</summary>
    public IReadOnlyDictionary<string, string> Subscribed => _subscribed;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _subscribed = new();

    /// <summary>True until the watch ended (stopped, timed out, or every host's stream ended).</summary>
    public bool IsRunning => _run is { IsCompleted: false };

    /// <summary>Starts watching; returns at once (<see cref="Ready"/> completes once every host is subscribed or failed).</summary>
    public void Start(FleetScope scope, WatchEventsRequest request)
    {
        if (_run is not null) throw new InvalidOperationException("the watcher runs already");
        _hosts = request.Hosts.Count;
        var reporting = scope.With(new Raiser(this));
        _run = Task.Run(() => WatchEvents.RunAsync(reporting, request, e => Received?.Invoke(this, new DomainEventArgs(e, null)), _stop.Token,
            (host, source) => { _subscribed[host] = source; Settled(); }), CancellationToken.None);
        _ = _run.ContinueWith(_ => _ready.TrySetResult(), TaskScheduler.Default);
        if (_hosts == 0) _ready.TrySetResult();
    }

    /// <summary>Completes once every selected host is subscribed or has failed (or the watch ended).</summary>
    public Task Ready => _ready.Task;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _hosts, _settled;

    private void Settled()
    {
        if (Interlocked.Increment(ref _settled) >= _hosts) _ready.TrySetResult();
    }

    public void Stop()
    {
        if (!_stop.IsCancellationRequested) _stop.Cancel();
    }

    public void Dispose()
    {
        Stop();
        try { _run?.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { /* cancelled */ }
    }

    private sealed class Raiser(FleetEventWatcher watcher) : IOperationReporter
    {
        public void Failure(VfException error)
        {
            if (!watcher._ready.Task.IsCompleted) watcher.Settled();
            watcher.Received?.Invoke(watcher, new DomainEventArgs(null, error));
        }
        public void Progress(OperationProgress progress) { }
        public void Verbose(string message) { }
        public void Warning(string message) { }
        public bool ShouldProcess(string target, string action) => true;
    }
}
