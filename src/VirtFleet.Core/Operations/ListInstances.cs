using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>Which instances to list (Get-VfInstance's filters); null filters match everything.</summary>
public sealed class ListInstancesRequest
{
    /// <summary>The hosts to read (one round trip each, in parallel).</summary>
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];
    /// <summary>Instance names or ids (wildcards).</summary>
    public IReadOnlyList<string>? Names { get; init; }
    /// <summary>Image names (wildcards).</summary>
    public IReadOnlyList<string>? Images { get; init; }
    public IReadOnlyList<InstanceState>? States { get; init; }
    /// <summary>Tags an instance must all carry.</summary>
    public IReadOnlyList<string>? Tags { get; init; }
    /// <summary>Include domains VirtFleet did not create.</summary>
    public bool All { get; init; }

    public bool Matches(Instance i) =>
        (All || i.IsVirtFleet) &&
        (Names is null || ListInstances.NameMatches(i, Names)) &&
        (Images is null || Images.Any(n => i.Image is { } img && Wildcard.IsMatch(img, n))) &&
        (States is null || States.Contains(i.State)) &&
        (Tags is null || Tags.All(t => i.Tags.Contains(t, StringComparer.OrdinalIgnoreCase)));
}

/// <summary>
/// Lists instances across hosts, read live from each (one round trip per host, hosts in parallel): Get-VfInstance, and the
/// lookup by name of the lifecycle and removal operations. A host that fails is one error; the others are listed.
/// </summary>
public static class ListInstances
{
    /// <summary>True when one of <paramref name="names"/> (wildcards) matches the instance's name or its instance id.</summary>
    public static bool NameMatches(Instance i, IEnumerable<string> names) => NameMatches(i.Name, i.InstanceId, names);

    /// <summary>True when one of <paramref name="names"/> (wildcards) matches <paramref name="name"/> or <paramref name="instanceId"/>.</summary>
    public static bool NameMatches(string name, string? instanceId, IEnumerable<string> names) =>
        names.Any(n => Wildcard.IsMatch(name, n) || (instanceId is { } id && Wildcard.IsMatch(id, n)));

    /// <summary>
    /// The instances a command acts on: those given as read, then those its names or ids (wildcards) match on
    /// <paramref name="searchHosts"/>; each exact name that matches nothing is one InstanceNotFound failure.
    /// </summary>
    public static async Task<List<Instance>> ResolveAsync(FleetScope scope, IReadOnlyList<Instance> instances, IReadOnlyList<string> names,
        IReadOnlyList<HostEntry> searchHosts, CancellationToken ct)
    {
        var targets = instances.ToList();
        if (names.Count == 0) return targets;
        var silent = new List<string>();
        var found = await RunAsync(scope, new ListInstancesRequest { Hosts = searchHosts, Names = names, All = true }, ct, activity: "Finding instances",
            unanswered: silent);
        foreach (var n in names.Where(n => !Wildcard.HasWildcards(n) && !found.Any(i => NameMatches(i, [n]))))
            scope.Report.Failure(NotFound(n, silent));
        targets.AddRange(found);
        return targets;
    }

    /// <summary>
    /// InstanceNotFound for <paramref name="name"/>; when some search hosts did not answer (each its own error), the message
    /// says the instance may be on them rather than that it is nowhere.
    /// </summary>
    public static VfException NotFound(string name, IReadOnlyCollection<string> unanswered) =>
        new("InstanceNotFound", FailureKind.ObjectNotFound, unanswered.Count == 0
            ? $"No instance '{name}' on the selected hosts."
            : $"No instance '{name}' on the hosts that answered; {string.Join(", ", unanswered.Order(StringComparer.Ordinal))} did not (see {(unanswered.Count == 1 ? "its error" : "their errors")}).", name);

    /// <summary>
    /// The matching instances, each host's sorted by name; <paramref name="onHost"/> gets each host's as it answers (on a
    /// worker thread, one host at a time), so a caller can stream them.
    /// </summary>
    /// <param name="unanswered">Given: the hosts whose listing failed (each also a failure reported) are added to it.</param>
    public static async Task<IReadOnlyList<Instance>> RunAsync(FleetScope scope, ListInstancesRequest request, CancellationToken ct,
        Action<IReadOnlyList<Instance>>? onHost = null, string activity = "Listing instances", ICollection<string>? unanswered = null)
    {
        var found = new List<Instance>();
        var answered = await scope.ForEachHostAsync(request.Hosts, activity, InstanceReader.ReadAsync, ct, (_, instances) =>
        {
            var mine = instances.Where(request.Matches).OrderBy(i => i.Name, StringComparer.OrdinalIgnoreCase).ToList();
            found.AddRange(mine);
            onHost?.Invoke(mine);
        });
        if (unanswered is not null)
            foreach (var h in request.Hosts.Where(h => !answered.ContainsKey(h.Name))) unanswered.Add(h.Name);
        return found;
    }
}
