using VirtFleet.HostScripts;
using VirtFleet.Model;
using VirtFleet.Windows;

namespace VirtFleet.Operations;

/// <summary>Windows instances whose administrator password to read: objects as read, or names looked up on hosts.</summary>
public sealed class PasswordRequest
{
    public IReadOnlyList<Instance> Instances { get; init; } = [];
    /// <summary>Instance names or ids (wildcards), looked up on <see cref="SearchHosts"/>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>How long to wait for a first boot that has not written its password yet (zero: read once).</summary>
    public TimeSpan Wait { get; init; }
    /// <summary>How often to look again while waiting.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>An instance and the encrypted password its first boot left on its console.</summary>
public sealed record InstancePasswordData(Instance Instance, PasswordData Data);

/// <summary>
/// Reads the encrypted administrator passwords Windows instances wrote to their serial consoles (EC2's get-password,
/// without a metadata service): one round trip per host, hosts in parallel, looking again while <see cref="PasswordRequest.Wait"/>
/// lasts. Decrypting is the caller's, on the admin's machine (<see cref="PasswordData.Decrypt"/>): the host holds only ciphertext.
/// </summary>
public static class PasswordOperations
{
    public static HostStep<IReadOnlyDictionary<string, PasswordData?>> ReadStep(IReadOnlyList<string> names) =>
        HostScript.Load("password-read").Include("passwords").Args(names.Select(n => Libvirt.Names.ValidateInstanceName(n)))
            .Reads(r => Parse(r.Stdout, r.Markers));

    /// <summary>vf_passwords' output (passwords.sh): each named instance's last block, or null while it has none.</summary>
    public static IReadOnlyDictionary<string, PasswordData?> Parse(string text, HostMarkers markers) =>
        HostReply.SplitSections(text, markers["PASSWORD"]).Where(s => s.Key.Length > 0)
            .ToDictionary(s => s.Key, s => PasswordData.Find(s.Value), StringComparer.Ordinal);

    /// <summary>
    /// The passwords found; <paramref name="onFound"/> gets each as it is found (a worker thread, one at a time). An instance
    /// that is not Windows, was made without a key pair, or has no password by the end of the wait is one failure each.
    /// </summary>
    public static async Task<IReadOnlyList<InstancePasswordData>> RunAsync(FleetScope scope, PasswordRequest request, CancellationToken ct,
        Action<InstancePasswordData>? onFound = null)
    {
        var targets = await ListInstances.ResolveAsync(scope, request.Instances, request.Names, request.SearchHosts, ct);
        var pending = new List<Instance>();
        foreach (var i in targets.DistinctBy(i => (i.Host, i.Name)))
        {
            if (!string.Equals(i.OsFamily, "windows", StringComparison.OrdinalIgnoreCase))
                scope.Report.Failure(new VfException("PasswordNotWindows", FailureKind.InvalidOperation,
                    $"{i.Name} is not a Windows instance: it has no generated password; log in with its key pair.", i.Name));
            else if (i.KeyPair is null)
                scope.Report.Failure(new VfException("PasswordNotGenerated", FailureKind.InvalidOperation,
                    $"{i.Name} was created without a key pair, so its first boot generated no password (New-VfInstance -KeyPair with an RSA key pair).", i.Name));
            else pending.Add(i);
        }

        var results = new List<InstancePasswordData>();
        var deadline = DateTime.UtcNow + request.Wait;
        while (pending.Count > 0)
        {
            var hosts = pending.Select(i => i.Host).Distinct().Select(h => scope.Inventory.Find(h)
                ?? throw new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host {h} is not in the inventory.", h)).ToList();
            var failed = new HashSet<string>();
            await scope.ForEachHostAsync(hosts, "Reading consoles",
                (h, c) => ReadStep(pending.Where(i => i.Host == h.Host.Name).Select(i => i.Name).ToList()).RunAsync(h, c), ct,
                (h, blocks) =>
                {
                    foreach (var i in pending.Where(i => i.Host == h.Name))
                        if (blocks.GetValueOrDefault(i.Name) is { } data)
                        {
                            var result = new InstancePasswordData(i, data);
                            results.Add(result);
                            onFound?.Invoke(result);
                        }
                },
                (h, e) => { failed.Add(h.Name); scope.Report.Failure(FleetScope.OnHost(e, h.Name)); });
            pending.RemoveAll(i => failed.Contains(i.Host) || results.Any(r => r.Instance == i));
            if (pending.Count == 0 || DateTime.UtcNow + request.PollInterval > deadline) break;
            await Task.Delay(request.PollInterval, ct);
        }
        foreach (var i in pending)
            scope.Report.Failure(new VfException("PasswordNotAvailable", FailureKind.ResourceUnavailable,
                $"{i.Name} has no password on its console yet: Windows writes it at the end of its first boot, when cloudbase-init " +
                "runs VirtFleet's first-boot script. Try again later or use -Wait.", i.Name));
        return results;
    }
}
