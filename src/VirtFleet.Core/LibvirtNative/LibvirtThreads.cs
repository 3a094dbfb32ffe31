using System.Collections.Concurrent;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// Threads of their own for libvirt's blocking calls. On the thread pool each call would hold a pool thread for a network
/// round trip, and a fleet's worth at once starves the pool (the runtime adds threads slowly, about two a second). Here a
/// call that finds no idle thread starts one at once (up to <see cref="MaximumConcurrencyLevel"/>; beyond that calls wait
/// their turn), and a thread idle for a while ends, so an idle session holds none. Calls of one connection made from
/// several of these threads at once are in flight together: libvirt's remote driver pipelines them over its one stream.
/// </summary>
public sealed class LibvirtThreads : TaskScheduler
{
    /// <summary>The scheduler native calls run on.</summary>
    public static LibvirtThreads Shared { get; } = new(128, TimeSpan.FromSeconds(20));

    private readonly ConcurrentQueue<Task> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _max;
    private readonly TimeSpan _idleLimit;
    // Threads waiting for work and not yet claimed by a caller. Invariant: threads in _wake.Wait = _idle + _wake.CurrentCount.
    private int _idle;
    private int _threads;

    internal LibvirtThreads(int max, TimeSpan idleLimit)
    {
        _max = max;
        _idleLimit = idleLimit;
    }

    public override int MaximumConcurrencyLevel => _max;

    /// <summary>Threads alive now (busy or idle), for tests and diagnostics.</summary>
    public int Threads => Volatile.Read(ref _threads);

    /// <summary>Runs a blocking call on one of the threads.</summary>
    public Task<T> Run<T>(Func<T> call) => Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this);

    protected override void QueueTask(Task task)
    {
        _queue.Enqueue(task);
        Signal();
    }

    private void Signal()
    {
        // Claim an idle thread, else start one (within the limit; at the limit a busy thread takes it when it is done).
        if (Interlocked.Decrement(ref _idle) >= 0)
        {
            _wake.Release();
            return;
        }
        Interlocked.Increment(ref _idle);
        int n;
        while ((n = Volatile.Read(ref _threads)) < _max)
            if (Interlocked.CompareExchange(ref _threads, n + 1, n) == n)
            {
                new Thread(Work, maxStackSize: 512 * 1024) { IsBackground = true, Name = "vf-libvirt-" + n }.Start();
                return;
            }
    }

    private void Work()
    {
        while (true)
        {
            while (_queue.TryDequeue(out var task)) TryExecuteTask(task);
            Interlocked.Increment(ref _idle);
            if (_wake.Wait(_idleLimit)) continue;
            // Idle too long: leave, unless a caller claimed this thread meanwhile (its wake-up is then on its way).
            int v;
            while ((v = Volatile.Read(ref _idle)) > 0)
                if (Interlocked.CompareExchange(ref _idle, v - 1, v) == v)
                {
                    Interlocked.Decrement(ref _threads);
                    // A call queued between the last look and leaving may have counted on this thread.
                    if (!_queue.IsEmpty) Signal();
                    return;
                }
            _wake.Wait();
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;
    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();
}
