using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// The one owner of the host lock. Every script that changes a host (instances, images, networks, addresses,
/// security groups, the firewall) runs through <see cref="Wrap"/> or <see cref="RunAsync"/>, which put it
/// behind the same prelude:
/// <list type="bullet">
/// <item>the lock file lives in <see cref="LockDirectory"/>, made root-only (0700, owner root) on first use, so no
/// other local user can create, open or hold it (the old /run/lock is world-writable);</item>
/// <item>the wait for another run's lock is bounded; a lock still held then is exit <see cref="LockedExit"/>
/// (HostLocked), never a run that goes ahead unserialized;</item>
/// <item>the script itself runs under timeout(1) in its own process group, bounded on the host by the client's
/// own deadline, and without the lock's file descriptor: only the waiting prelude holds the lock, so a client
/// that gave up (or a dropped connection) never leaves the lock held past the bound.</item>
/// </list>
/// The body is handed to its shell as a here-document on descriptor 3 (not as an argument: a create's script
/// can pass the 128 KiB limit of one argument); its standard input and arguments are the caller's. The prelude is
/// HostScripts/lock.sh; scripts reach it through <see cref="HostScripts.HostBatch"/> (a script that changes state says
/// <see cref="HostScripts.HostScript.Locked"/>).
/// </summary>
public static class HostLock
{
    /// <summary>Root-only folder of VirtFleet's runtime files on a host.</summary>
    public const string LockDirectory = "/run/virtfleet";
    public const string LockPath = LockDirectory + "/host.lock";

    /// <summary>Exit code: the lock stayed held by another run for the whole wait.</summary>
    public const int LockedExit = 75;
    /// <summary>Exit code: the script ran past its bound on the host and was stopped (timeout(1)'s code).</summary>
    public const int OverranExit = 124;
    /// <summary>Exit code: the lock folder cannot be made root-only (VirtFleet is not root on the host).</summary>
    public const int NotRootExit = 77;

    /// <summary>Longest wait for another run's lock.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);
    /// <summary>How much longer the client waits than the host-side bound, so the host's own answer arrives first.</summary>
    public static readonly TimeSpan ClientGrace = TimeSpan.FromSeconds(15);

    /// <summary>The start of the here-document delimiter of a locked body (lock.sh); each wrap adds a random part.</summary>
    private const string BodyEnd = "@@VF-LOCKED-BODY";

    /// <summary>
    /// Shell text that runs <paramref name="body"/> under the host lock (lock.sh): it waits at most <paramref name="wait"/> for
    /// the lock, and the whole (wait included) is bounded by <paramref name="bound"/> on the host. <paramref name="shared"/>
    /// takes the lock shared (a read that must not see a change half-made). The body's exit code is the script's,
    /// except <see cref="LockedExit"/>, <see cref="OverranExit"/> and <see cref="NotRootExit"/>.
    /// </summary>
    public static string Wrap(string body, TimeSpan wait, TimeSpan bound, bool shared = false)
    {
        if (body.Split('\n').Any(l => l.StartsWith(BodyEnd, StringComparison.Ordinal)))
            throw new ArgumentException("a host script contains the lock wrapper's end marker", nameof(body));
        var total = Math.Max(2, (int)Math.Ceiling(bound.TotalSeconds));
        var waitSeconds = Math.Clamp((int)Math.Ceiling(wait.TotalSeconds), 1, total - 1);
        var end = BodyEnd + "-" + HostScripts.HostMarkers.New().Nonce + "@@";
        var text = HostScripts.HostScript.Text("lock");
        return "vf_lockdir=" + ShellQuote.Quote(LockDirectory) + " vf_mode=" + (shared ? "-s" : "-x") +
               " vf_wait=" + waitSeconds + " vf_bound=" + total + "\n" +
               text.Replace("\n" + BodyEnd + "@@\n", "\n" + end + "\n").Replace("'" + BodyEnd + "@@'", "'" + end + "'")
                   .Replace("\n@@VF-BODY@@\n", "\n" + body.TrimEnd('\n') + "\n");
    }

    /// <summary>How long a script waits for the lock when its command may take <paramref name="commandTimeout"/>: half of it, at most <see cref="MaxWait"/>.</summary>
    public static TimeSpan WaitFor(TimeSpan commandTimeout) => TimeSpan.FromTicks(Math.Min(commandTimeout.Ticks / 2, MaxWait.Ticks));

    /// <summary>
    /// Runs <paramref name="body"/> on the host under the lock. It waits for the lock <see cref="WaitFor"/> the host's
    /// command timeout; the whole is bounded on the host by <paramref name="bound"/> (default: the host's command
    /// timeout), and the client waits a little longer, so a held lock or an overrun comes back as the host's own
    /// answer. Throws HostLocked, HostScriptOverran or HostLockUnavailable; other exit codes are the caller's.
    /// </summary>
    public static async Task<CommandResult> RunAsync(IRemoteHost host, string body, CancellationToken ct, byte[]? stdin = null,
        TimeSpan? bound = null, bool shared = false)
    {
        var limit = bound ?? host.CommandTimeout;
        try
        {
            var r = await host.RunAsync(Wrap(body, WaitFor(host.CommandTimeout < limit ? host.CommandTimeout : limit), limit, shared), ct, stdin, limit + ClientGrace);
            return Check(r, host.Host.Name);
        }
        finally
        {
            // A script under the exclusive lock changes the host; a shared one only reads it.
            if (!shared) host.LibvirtChanged();
        }
    }

    /// <summary>
    /// Holds the host lock (exclusive) until the returned hold is disposed, for a change made by another path than a host
    /// script (a live move over the native libvirt path): a command on a channel of its own waits for the lock as every
    /// script does, then keeps it until that channel closes (the hold disposed, or the connection lost), at most for
    /// <paramref name="bound"/>. Throws HostLocked when another run kept the lock for the whole wait.
    /// </summary>
    public static async Task<IAsyncDisposable> HoldAsync(IRemoteHost host, TimeSpan bound, CancellationToken ct)
    {
        const string Held = "@@VF-LOCK-HELD@@";
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The body tells it holds the lock, then reads its standard input (the channel) until it closes.
        var command = "/bin/sh -c " + ShellQuote.Quote(Wrap($"echo {Held}; exec cat >/dev/null", WaitFor(host.CommandTimeout), bound));
        var run = host.StreamLinesAsync(command, l => { if (l == Held) held.TrySetResult(); }, stop.Token);
        try
        {
            if (await Task.WhenAny(held.Task, run) != held.Task) await run;
            if (!held.Task.IsCompleted) throw new VfException("HostLockNotHeld", FailureKind.InvalidOperation, $"{host.Host.Name}: the host lock was not taken.", host.Host.Name);
        }
        catch (VfException e) when (e.ErrorId == "StreamEnded" && e.Message.Contains($"(exit {LockedExit})", StringComparison.Ordinal))
        {
            stop.Dispose();
            throw new VfException("HostLocked", FailureKind.ResourceUnavailable, e.Message, host.Host.Name, e);
        }
        catch
        {
            stop.Dispose();
            throw;
        }
        return new Hold(host, stop, run);
    }

    private sealed class Hold(IRemoteHost host, CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try { await run; } catch (Exception) { /* cancelled: the channel closed, and the lock with it */ }
            stop.Dispose();
            host.LibvirtChanged();
        }
    }

    /// <summary>Turns the lock's own exit codes into errors; returns the result otherwise.</summary>
    public static CommandResult Check(CommandResult r, string host) => r.ExitCode switch
    {
        LockedExit => throw new VfException("HostLocked", FailureKind.ResourceUnavailable, $"{host}: {Detail(r)}", host),
        OverranExit => throw new VfException("HostScriptOverran", FailureKind.OperationTimeout, $"{host}: {Detail(r)}", host),
        NotRootExit => throw new VfException("HostLockUnavailable", FailureKind.SecurityError, $"{host}: {Detail(r)}", host),
        _ => r,
    };

    private static string Detail(CommandResult r)
    {
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? $"exit {r.ExitCode}" : lines[^1];
    }
}
