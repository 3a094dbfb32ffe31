using System.Text;
using VirtFleet.Consoles;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>
/// Consoles of instances: the serial console's log kept on the host (as euca-get-console-output reads it) and the graphical
/// console (VNC on the host's loopback) through a local port forwarded over the host's pooled SSH connection.
/// </summary>
public static class ConsoleOperations
{
    /// <summary>The most a console read returns (the tail), bytes.</summary>
    public const int MaxBytes = 4 << 20;

    /// <summary>The instances (as read, or found by name on <paramref name="hosts"/>): one InstanceNotFound error per name found nowhere.</summary>
    public static async Task<IReadOnlyList<Instance>> FindAsync(FleetScope scope, IReadOnlyList<Instance> instances, IReadOnlyList<string> names,
        IReadOnlyList<HostEntry> hosts, CancellationToken ct)
    {
        var targets = instances.ToList();
        if (names.Count == 0) return targets;
        var found = await ListInstances.RunAsync(scope, new ListInstancesRequest { Hosts = hosts, Names = names }, ct);
        foreach (var n in names.Where(n => !found.Any(i => ListInstances.NameMatches(i, [n]))))
            scope.Report.Failure(new VfException("InstanceNotFound", FailureKind.ObjectNotFound, $"No instance matches '{n}'.", n));
        targets.AddRange(found);
        return targets;
    }

    /// <summary>The last <paramref name="bytes"/> of an instance's serial console log (console-read.sh).</summary>
    public static async Task<ConsoleOutput> GetOutputAsync(FleetScope scope, Instance instance, int bytes, CancellationToken ct)
    {
        var host = Host(scope, instance);
        bytes = Math.Clamp(bytes, 1, MaxBytes);
        var r = await HostScript.Load("console-read").Set("name", Libvirt.Names.ValidateInstanceName(instance.Name))
            .Set("log", HostPaths.Instance(instance.Name) + "/" + InstanceCreator.ConsoleLogFile)
            .Set("uuid", (instance.Uuid ?? Guid.Empty).ToString()).Set("bytes", bytes.ToString())
            .Unlocked(TimeSpan.FromSeconds(60)).RunAsync(scope.Connect(host), ct);
        Check(r, instance);
        var marker = r.Markers["RESULT"] + " ";
        var at = r.Stdout.IndexOf(marker, StringComparison.Ordinal);
        var eol = at < 0 ? -1 : r.Stdout.IndexOf('\n', at);
        if (eol < 0 || !long.TryParse(r.Stdout[(at + marker.Length)..eol], out var length))
            throw new VfException("ConsoleReadFailed", FailureKind.InvalidData, $"{instance.Host}: unexpected reply reading {instance.Name}'s console.", instance.Name);
        var text = r.Stdout[(eol + 1)..];
        return new ConsoleOutput
        {
            Name = instance.Name, Host = instance.Host, InstanceId = instance.InstanceId, Length = length, Truncated = length > bytes,
            Output = Clean(text),
        };
    }

    /// <summary>
    /// A local port forwarded over the host's pooled connection to the instance's VNC console (console-vnc.sh finds it in the
    /// live XML); it closes with the connection (the session's end, Disconnect-VfHost) or <see cref="ConsoleEndpoint.Close"/>.
    /// </summary>
    public static async Task<ConsoleEndpoint> ConnectAsync(FleetScope scope, Instance instance, CancellationToken ct)
    {
        var host = Host(scope, instance);
        var remote = scope.Connect(host);
        var r = await HostScript.Load("console-vnc").Set("name", Libvirt.Names.ValidateInstanceName(instance.Name))
            .Set("uuid", (instance.Uuid ?? Guid.Empty).ToString()).RunAsync(remote, ct);
        Check(r, instance);
        if (r.Lines("RESULT").LastOrDefault()?.Split(' ') is not [var address, var portText] || !int.TryParse(portText, out var port) || port is < 1 or > 65535)
            throw new VfException("ConsoleReadFailed", FailureKind.InvalidData, $"{instance.Host}: unexpected reply finding {instance.Name}'s VNC console.", instance.Name);
        // A console listening on every address is reached on the host's loopback too.
        if (address is "0.0.0.0" or "::" or "") address = "127.0.0.1";
        var forward = await remote.ForwardLocalAsync(address, port, ct);
        scope.Report.Verbose($"{instance.Name}: VNC {address}:{port} on {instance.Host} is at 127.0.0.1:{forward.LocalPort} here");
        return new ConsoleEndpoint(forward, instance.Name, instance.Host, instance.InstanceId);
    }

    private static HostEntry Host(FleetScope scope, Instance instance) =>
        scope.Inventory.Find(instance.Host)
        ?? throw new VfException("HostNotInInventory", FailureKind.ObjectNotFound, $"Host {instance.Host} is not in the inventory {scope.Inventory.Path}.", instance.Host);

    private static void Check(HostReply r, Instance instance)
    {
        switch (r.ExitCode)
        {
            case 3: throw new VfException("InstanceChanged", FailureKind.ObjectNotFound, $"{instance.Host}: {r.Stderr.Trim()}", instance.Name);
            case 4: throw new VfException("ConsoleUnavailable", FailureKind.ResourceUnavailable, $"{instance.Host}: {r.Stderr.Trim()}", instance.Name);
        }
        r.EnsureSuccess($"reading {instance.Name}'s console", "ConsoleReadFailed");
    }

    /// <summary>Console text as PowerShell can show it: CR LF as LF, other control characters (escape sequences) as '?'.</summary>
    public static string Clean(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text.Replace("\r\n", "\n"))
            sb.Append(c is '\n' or '\t' || !char.IsControl(c) ? c : c == '\r' ? '\n' : '?');
        return sb.ToString();
    }
}
