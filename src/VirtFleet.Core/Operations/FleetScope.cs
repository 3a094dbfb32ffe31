using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>
/// What every Core operation works with: the inventory, how to reach a host (the session's pooled connections, or a
/// fake host in tests), how many hosts at once and how long each may take, and where to report. Made by the caller
/// (a cmdlet from its parameters, the playbook executor from its own) and shared by the operations of one command.
/// </summary>
public sealed class FleetScope(HostInventory inventory, Func<HostEntry, IRemoteHost> connect, IOperationReporter report,
    int throttle = FanOut.DefaultThrottle, TimeSpan? perHostBound = null)
{
    public HostInventory Inventory { get; } = inventory;
    public IOperationReporter Report { get; } = report;
    public int Throttle { get; } = Math.Max(1, throttle);
    /// <summary>The longest one host's part of a fan-out may take before it is one HostTimeout error.</summary>
    public TimeSpan PerHostBound { get; } = perHostBound ?? TimeSpan.FromMinutes(6);

    /// <summary>
    /// Told of what an operation read of the fleet's named things (a <see cref="Networking.FleetNetworkState"/>), so the
    /// caller can remember them (a cmdlet: the session's tab completion). Any thread may call it. Default: nobody.
    /// </summary>
    public Action<object>? Seen { get; init; }

    /// <summary>The connection to a host (pooled: the same one for every operation of the session).</summary>
    public IRemoteHost Connect(HostEntry host) => connect(host);

    /// <summary>The same scope reporting elsewhere (a nested step that collects its own results).</summary>
    public FleetScope With(IOperationReporter report) => new(Inventory, connect, report, Throttle, PerHostBound) { Seen = Seen };

    /// <summary>The same scope on another inventory's hosts (the playbook executor narrowed to its selection).</summary>
    public FleetScope With(HostInventory inventory) => new(inventory, connect, Report, Throttle, PerHostBound) { Seen = Seen };

    private static int _progressIds = 4711;

    /// <summary>A host's failure as an error about that host (its target the host's name, as a cmdlet's per-host error has).</summary>
    public static VfException OnHost(VfException error, string host) =>
        error.Target == host ? error : new VfException(error.ErrorId, error.Kind, error.Message, host, error.InnerException ?? error);

    /// <summary>
    /// Runs <paramref name="work"/> on each host in parallel (at most <see cref="Throttle"/> at once, each bounded by
    /// <see cref="PerHostBound"/>); <paramref name="onResult"/> gets each answer as it comes (on a worker thread, one at
    /// a time), each failed host is one <see cref="IOperationReporter.Failure"/> (naming the host) unless <paramref name="onFailure"/>
    /// takes it, and a progress bar counts the hosts. Returns the answers by host name.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, T>> ForEachHostAsync<T>(IReadOnlyList<HostEntry> hosts, string activity,
        Func<IRemoteHost, CancellationToken, Task<T>> work, CancellationToken ct,
        Action<HostEntry, T>? onResult = null, Action<HostEntry, VfException>? onFailure = null)
    {
        var answers = new Dictionary<string, T>(StringComparer.Ordinal);
        if (hosts.Count == 0) return answers;
        var id = Interlocked.Increment(ref _progressIds);
        var done = 0;
        using var span = Util.VfTrace.Time($"fan-out '{activity}' on {hosts.Count} hosts");
        await foreach (var r in FanOut.RunAsync(hosts, (h, c) => work(Connect(h), c), Throttle, PerHostBound, ct))
        {
            done++;
            if (r.Error is null)
            {
                answers[r.Host.Name] = r.Value!;
                onResult?.Invoke(r.Host, r.Value!);
            }
            else if (onFailure is not null) onFailure(r.Host, r.Error);
            else Report.Failure(OnHost(r.Error, r.Host.Name));
            if (hosts.Count > 1)
                Report.Progress(new OperationProgress(id, activity, $"{done} of {hosts.Count} hosts", done * 100 / hosts.Count, done == hosts.Count));
        }
        return answers;
    }
}
