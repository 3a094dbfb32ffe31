using VirtFleet.Events;

namespace VirtFleet.Tests;

/// <summary>An event source the test drives: it posts events and drops the stream by hand; it counts subscriptions.</summary>
public sealed class FakeEventSource(string host) : IDomainEventSource
{
    private readonly TaskCompletionSource<DomainEventStream> _live = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Source => "fake";
    public int Subscriptions { get; private set; }
    public int Closed { get; private set; }
    /// <summary>When set, subscribing fails with it.</summary>
    public VfException? Refuse { get; set; }
    /// <summary>Completes once subscribed; the test then posts.</summary>
    public Task<DomainEventStream> Live => _live.Task;

    public Task<DomainEventStream> SubscribeAsync(CancellationToken ct)
    {
        Subscriptions++;
        if (Refuse is not null) throw Refuse;
        var stream = new DomainEventStream(host, Source);
        stream.OnClose(() => { Closed++; return ValueTask.CompletedTask; });
        _live.TrySetResult(stream);
        return Task.FromResult(stream);
    }

    public async Task PostAsync(string name, DomainEventKind kind, string detail = "")
    {
        var s = await Live;
        s.Post(new DomainEvent { Host = host, Name = name, Kind = kind, Detail = detail, Time = DateTimeOffset.UtcNow, Source = Source });
    }
}
