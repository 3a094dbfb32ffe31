using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>The outcome of one host's part of a fleet-wide operation: a value or a failure.</summary>
public sealed record HostResult<T>(HostEntry Host, T? Value, VfException? Error, TimeSpan Elapsed)
{
    public bool Succeeded => Error is null;
}

/// <summary>
/// Runs one operation on many hosts in parallel (bounded), each under an overall deadline, and
/// streams results as hosts answer. A failing, stalled or unreachable host yields one error and
/// never holds up the rest; the whole run ends by the deadline.
/// </summary>
public static class FanOut
{
    public const int DefaultThrottle = 32;

    public static async IAsyncEnumerable<HostResult<T>> RunAsync<T>(
        IReadOnlyList<HostEntry> hosts,
        Func<HostEntry, CancellationToken, Task<T>> operation,
        int throttle,
        TimeSpan perHostDeadline,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var results = Channel.CreateUnbounded<HostResult<T>>();
        PoolHeadroom.Ensure(Math.Min(hosts.Count, throttle));
        using var gate = new SemaphoreSlim(Math.Max(1, throttle));
        var tasks = hosts.Select(async host =>
        {
            await gate.WaitAsync(ct);
            var started = DateTime.UtcNow;
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                deadline.CancelAfter(perHostDeadline);
                var work = operation(host, deadline.Token);
                // WaitAsync guarantees the end even if the operation ignores its token.
                var value = await work.WaitAsync(perHostDeadline + TimeSpan.FromSeconds(1), ct);
                results.Writer.TryWrite(new HostResult<T>(host, value, null, DateTime.UtcNow - started));
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                results.Writer.TryWrite(new HostResult<T>(host, default, AsFailure(ex, host, perHostDeadline), DateTime.UtcNow - started));
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        _ = Task.WhenAll(tasks).ContinueWith(_ => results.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var r in results.Reader.ReadAllAsync(ct)) yield return r;
    }

    private static VfException AsFailure(Exception ex, HostEntry host, TimeSpan deadline) => ex switch
    {
        VfException vf => vf,
        TimeoutException or OperationCanceledException => new VfException("HostTimeout", FailureKind.OperationTimeout,
            $"{host.Name}: no result within {deadline.TotalSeconds:0.#} s.", host.Name, ex),
        AggregateException { InnerExceptions.Count: 1 } agg => AsFailure(agg.InnerExceptions[0], host, deadline),
        _ => new VfException("HostOperationFailed", FailureKind.InvalidOperation, $"{host.Name}: {ex.Message}", host.Name, ex),
    };
}
