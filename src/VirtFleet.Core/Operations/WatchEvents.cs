using VirtFleet.Events;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>
/// Streams domain lifecycle events from many hosts at once (Get-VfEvent, Register-VfInstanceEvent): one subscription per
/// host, events passed on as they come. A host that cannot be subscribed to, or whose stream drops, is one error and
/// the others go on. Instance ids come from one listing per host (again after a domain is defined), never from polling.
/// </summary>
public static class WatchEvents
{
    /// <summary>
    /// Runs until <paramref name="ct"/> is cancelled, the timeout passes, MaxEvents were passed on, or every host's stream
    /// ended. <paramref name="onEvent"/> gets each event (a worker thread, one at a time); <paramref name="onSubscribed"/>
    /// each host once its subscription is live.
    /// </summary>
    public static async Task RunAsync(FleetScope scope, WatchEventsRequest request, Action<DomainEvent> onEvent, CancellationToken ct,
        Action<string, string>? onSubscribed = null)
    {
        if (request.Hosts.Count == 0) return;
        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (request.Timeout is { } limit) run.CancelAfter(limit);
        var gate = new object();
        var passed = 0;
        var tasks = request.Hosts.Select(h => Task.Run(() => WatchHostAsync(h), CancellationToken.None)).ToList();
        await Task.WhenAll(tasks);
        ct.ThrowIfCancellationRequested();

        async Task WatchHostAsync(HostEntry host)
        {
            DomainEventStream? stream = null;
            try
            {
                var remote = scope.Connect(host);
                stream = await DomainEventSources.SubscribeAsync(remote, request.Source, scope.Report.Verbose, run.Token);
                onSubscribed?.Invoke(host.Name, stream.Source);
                var ids = new InstanceIds(remote);
                ids.Refresh(run.Token);
                await foreach (var e in stream.Events.ReadAllAsync(run.Token))
                {
                    if (e.Kind == DomainEventKind.Defined) ids.Refresh(run.Token);
                    var ev = e.WithInstanceId(await ids.IdOfAsync(e.Name, run.Token));
                    if (!Wanted(request, ev)) continue;
                    lock (gate)
                    {
                        if (run.IsCancellationRequested) return;
                        onEvent(ev);
                        if (request.MaxEvents > 0 && ++passed >= request.MaxEvents) run.Cancel();
                    }
                }
                // The channel completed without an error only when disposed: a stream that ends by itself lost its host.
                if (!run.IsCancellationRequested)
                    scope.Report.Failure(new VfException("EventStreamEnded", FailureKind.ConnectionError, $"{host.Name}: the event stream ended.", host.Name));
            }
            catch (OperationCanceledException) when (run.IsCancellationRequested) { }
            catch (VfException e) when (!run.IsCancellationRequested) { scope.Report.Failure(FleetScope.OnHost(e, host.Name)); }
            catch (Exception e) when (!run.IsCancellationRequested && e is not OperationCanceledException)
            {
                scope.Report.Failure(new VfException("EventStreamFailed", FailureKind.ConnectionError, $"{host.Name}: {e.Message}", host.Name, e));
            }
            finally
            {
                if (stream is not null) await stream.DisposeAsync();
            }
        }
    }

    internal static bool Wanted(WatchEventsRequest request, DomainEvent e) =>
        (request.Kinds.Count == 0 || request.Kinds.Contains(e.Kind))
        && (request.Names.Count == 0 || ListInstances.NameMatches(e.Name, e.InstanceId, request.Names));

    /// <summary>A host's domain names → VirtFleet instance ids, from listings (one at the start, one after each Defined event).</summary>
    private sealed class InstanceIds(IRemoteHost remote)
    {
        private Task<Dictionary<string, string?>> _map = Task.FromResult(new Dictionary<string, string?>());

        public void Refresh(CancellationToken ct) => _map = Task.Run(async () =>
        {
            try { return (await InstanceReader.ReadAsync(remote, ct)).ToDictionary(i => i.Name, i => i.InstanceId); }
            catch (Exception) when (!ct.IsCancellationRequested) { return new Dictionary<string, string?>(); }
        }, CancellationToken.None);

        public async Task<string?> IdOfAsync(string name, CancellationToken ct)
        {
            try { return (await _map.WaitAsync(TimeSpan.FromSeconds(30), ct)).GetValueOrDefault(name); }
            catch (TimeoutException) { return null; }
        }
    }
}
