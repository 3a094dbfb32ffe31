namespace VirtFleet.Transport;

/// <summary>
/// Room in the .NET thread pool for a fleet's hosts at once. SSH.NET blocks a pool thread in places (the key exchange
/// and each channel open wait on a handle), so a cold fan-out over N hosts holds up to two threads a host; the pool
/// starts with one thread per CPU and, once starved, adds about one every half second, which turned a cold listing of
/// 8 hosts into waves (connects at 0.4, 0.55 and 0.7 s on 2 CPUs) and every later continuation into a queue.
/// Raising the pool's minimum lets it start threads at once up to that number; idle ones still retire. Only ever raised.
/// </summary>
public static class PoolHeadroom
{
    /// <summary>The most the minimum is raised to, whatever the fleet (a thread costs its stack, reserved not used).</summary>
    public const int Ceiling = 256;

    private static readonly object Gate = new();

    /// <summary>Makes sure <paramref name="concurrentHosts"/> hosts can each block two pool threads without waiting for the pool to grow.</summary>
    public static void Ensure(int concurrentHosts)
    {
        var wanted = Math.Min(Ceiling, Environment.ProcessorCount + 2 * Math.Max(0, concurrentHosts));
        lock (Gate)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            if (workers < wanted) ThreadPool.SetMinThreads(wanted, io);
        }
    }
}
