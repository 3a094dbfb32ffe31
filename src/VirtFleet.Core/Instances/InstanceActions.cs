using System.Text;
using VirtFleet.HostScripts;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

public enum InstanceAction { Start, Stop, Restart, Suspend, Resume, Remove }

/// <summary>
/// Lifecycle changes for several instances of one host in one round trip, under the host lock. Each instance's result is
/// reported on its own line, then every named instance is read back (except after a removal).
/// </summary>
public static class InstanceActions
{
    /// <summary>An instance to act on: its name and the instance id the caller read (null: a domain not VirtFleet's).</summary>
    public sealed record Target(string Name, string? InstanceId);

    /// <summary>
    /// The script (instance-actions.sh, under the host lock): one <c>vf_act</c> per instance, every value a quoted argument
    /// (side by side through <c>vf_beside</c>, up to 4 at once, when there are several and the action is not a start,
    /// whose firewall guard rewrites the host's tables), then the named instances read back (except after a removal).
    /// </summary>
    public static HostScript BuildScript(InstanceAction action, IReadOnlyList<Target> targets, int timeoutSeconds, bool force)
    {
        var script = HostScript.Load("instance-actions").Include("domains").Set("vf_ns", VfMetadata.NamespaceUri);
        if (action == InstanceAction.Start) script.Include("guard");
        // A stop waits for its guest, a removal on libvirtd: instances of the host do it side by side.
        var beside = targets.Count > 1 && action != InstanceAction.Start;
        if (beside) script.Include("beside");
        foreach (var t in targets)
        {
            Names.ValidateInstanceName(t.Name);
            IEnumerable<string> extra = action switch
            {
                InstanceAction.Start when t.InstanceId is { } id => Guard(t.Name, id),
                InstanceAction.Start => [],
                InstanceAction.Stop => [timeoutSeconds.ToString(), force ? "1" : "0"],
                InstanceAction.Restart => [force ? "1" : "0"],
                InstanceAction.Suspend or InstanceAction.Resume or InstanceAction.Remove => [],
                _ => throw new ArgumentOutOfRangeException(nameof(action)),
            };
            string[] act = [action.ToString().ToLowerInvariant(), t.Name, t.InstanceId ?? "", force ? "1" : "0", .. extra];
            script.Call(beside ? "vf_beside" : "vf_act", beside ? ["vf_act", .. act] : act);
        }
        if (beside) script.Call("vf_join");
        // A removed domain has nothing to read back.
        if (action != InstanceAction.Remove && targets.Count > 0) script.Call("vf_domains", targets.Select(t => t.Name));
        // Under the host lock; bounded by the stop timeouts it may wait through (or the host's command timeout when longer).
        return script.Call("exit", "0").Locked(TimeSpan.FromSeconds(60 + timeoutSeconds * Math.Max(1, targets.Count)), orCommandTimeout: true);
    }

    /// <summary>The default-deny guard's lines for a start (base64, as vf_guard reads them); invalid ids get none.</summary>
    internal static string[] Guard(string name, string instanceId)
    {
        try
        {
            var (v4, v6) = Networking.FirewallPlanner.Guard(name, instanceId);
            return [B64(v4), B64(v6)];
        }
        catch (VfException) { return []; }
        static string B64(IEnumerable<string> lines) => Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
    }

    public sealed record Outcome(string Name, Instance? Instance, VfException? Error);

    /// <summary>
    /// The action as a typed step of a round trip (<see cref="HostBatch"/>: a read of the host's network state can follow it
    /// in the same trip); one outcome per target.
    /// </summary>
    public static HostStep<IReadOnlyList<Outcome>> Step(InstanceAction action, IReadOnlyList<Target> targets, int timeoutSeconds, bool force) =>
        BuildScript(action, targets, timeoutSeconds, force).Reads(r => Outcomes(r, action.ToString(), targets));

    /// <summary>
    /// The root disks of instances of one host grown to the given sizes (never shrunk), in one round trip under the host lock:
    /// live through libvirt (blockresize) while an instance runs, else qemu-img resize of its overlay; then read back.
    /// </summary>
    public static HostStep<IReadOnlyList<Outcome>> GrowDisksStep(IReadOnlyList<(Target Target, long Bytes)> disks)
    {
        var script = HostScript.Load("instance-actions").Include("domains").Set("vf_ns", VfMetadata.NamespaceUri);
        foreach (var (t, bytes) in disks)
        {
            Names.ValidateInstanceName(t.Name);
            script.Call("vf_act", ["grow", t.Name, t.InstanceId ?? "", "0", bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
        if (disks.Count > 0) script.Call("vf_domains", disks.Select(d => d.Target.Name));
        return script.Call("exit", "0").Locked().Reads(r => Outcomes(r, "Resize", disks.Select(d => d.Target).ToList()));
    }

    /// <summary>
    /// An ACPI shutdown asked of each instance (one already off is left so), without waiting for it, under the host lock; then
    /// read back. The caller waits for the Stopped events (<see cref="Operations.ShutdownOnEvents"/>).
    /// </summary>
    public static HostStep<IReadOnlyList<Outcome>> ShutdownStep(IReadOnlyList<Target> targets)
    {
        var script = HostScript.Load("instance-actions").Include("domains").Set("vf_ns", VfMetadata.NamespaceUri);
        foreach (var t in targets)
        {
            Names.ValidateInstanceName(t.Name);
            script.Call("vf_act", ["shutdown", t.Name, t.InstanceId ?? "", "0"]);
        }
        if (targets.Count > 0) script.Call("vf_domains", targets.Select(t => t.Name));
        return script.Call("exit", "0").Locked().Reads(r => Outcomes(r, "Stop", targets));
    }

    /// <summary>
    /// A removal by name that finds its instances on the host itself, in the same round trip under the host lock: every domain
    /// whose name (or VirtFleet instance id) matches one of <paramref name="shellPatterns"/> (<see cref="Wildcard.ToShellPattern"/>)
    /// is removed as <see cref="BuildScript"/> removes it (not VirtFleet's: refused unless <paramref name="force"/>). One outcome
    /// per domain found, each with the instance as it was before its removal.
    /// </summary>
    public static HostStep<IReadOnlyList<Outcome>> RemoveMatchingStep(IReadOnlyList<string> shellPatterns, bool force)
    {
        // An id is "i-" and hex digits: only a pattern that may begin so makes the host read the ids of the domains no name matched.
        var ids = shellPatterns.Any(p => p[0] is 'i' or '*' or '?' or '[');
        var script = HostScript.Load("instance-actions").Include("domains").Include("beside").Set("vf_ns", VfMetadata.NamespaceUri)
            .Call("vf_remove_matching", [force ? "1" : "0", ids ? "1" : "0", .. shellPatterns]).Call("exit", "0");
        return script.Locked(TimeSpan.FromSeconds(120), orCommandTimeout: true).Reads(r =>
        {
            r.EnsureSuccess("Remove instances", "InstanceActionFailed");
            var found = r.Lines("RESULT").Select(l => l.Split(' ', 2)[0]).Distinct().Select(n => new Target(n, null)).ToList();
            return Outcomes(r, "Remove", found);
        });
    }

    /// <summary>Runs the action on one host (one round trip under the host lock).</summary>
    public static Task<IReadOnlyList<Outcome>> RunAsync(IRemoteHost host, InstanceAction action, IReadOnlyList<Target> targets,
        int timeoutSeconds, bool force, CancellationToken ct) =>
        Step(action, targets, timeoutSeconds, force).RunAsync(host, ct);

    /// <summary>
    /// One outcome per target, from its result line, with the instance the reply printed under its name (read back after the
    /// action; for <see cref="RemoveMatchingStep"/>, as it was before).
    /// </summary>
    private static IReadOnlyList<Outcome> Outcomes(HostReply r, string action, IReadOnlyList<Target> targets)
    {
        var host = r.Host;
        r.EnsureSuccess($"{action} instances", "InstanceActionFailed");
        var results = r.Lines("RESULT").Select(l => l.Split(' ', 3))
            .GroupBy(a => a[0]).ToDictionary(g => g.Key, g => g.Last());
        var domainsAt = r.Stdout.IndexOf(r.Markers["DOMAIN"], StringComparison.Ordinal);
        var instances = domainsAt < 0 ? new Dictionary<string, Instance>()
            : InstanceReader.Parse(host.Name, r.Stdout[domainsAt..], r.Markers).ToDictionary(i => i.Name);
        return targets.Select(t =>
        {
            var inst = instances.GetValueOrDefault(t.Name);
            if (results.TryGetValue(t.Name, out var a) && a[1] == "ok") return new Outcome(t.Name, inst, null);
            var msg = results.TryGetValue(t.Name, out a) && a.Length > 2 ? a[2].Trim() : "no result";
            return new Outcome(t.Name, inst, a?[1] switch
            {
                "changed" => new VfException("InstanceChanged", FailureKind.InvalidOperation, $"{host.Name}: {msg}", t.Name),
                "notours" => new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation,
                    $"{host.Name}: {msg} (use -Force to {action.ToLowerInvariant()} it).", t.Name),
                _ => new VfException($"{action}InstanceFailed", FailureKind.InvalidOperation, $"{host.Name}: {action} {t.Name} failed: {msg}", t.Name),
            });
        }).ToList();
    }
}
