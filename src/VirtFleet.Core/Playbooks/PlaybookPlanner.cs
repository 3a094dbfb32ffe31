using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Playbooks;

/// <summary>
/// Compares a playbook with a fleet snapshot and lists what to do, in order: key pairs, images, networks,
/// security groups, instances, addresses, operations, prunes. Pure: no I/O. Rules:
/// <list type="bullet">
/// <item>A listed instance that exists (VirtFleet's, same image/type/network) gets no step; missing tags or
/// groups or another type are a change in place; another image or network is a replace (remove, then create) of the
/// playbook's own instances only; a stopped one is started unless an operation selects it.</item>
/// <item>A listed name found only on inventory hosts outside the selection is left there; one that an unanswering host
/// might hold is a problem, never a create.</item>
/// <item>A name held by a domain VirtFleet did not create is a problem, never a change.</item>
/// <item>An unlisted instance is removed only with prune and only when its owner record is this playbook's (<see cref="Playbook.Owns"/>).</item>
/// <item>An operation is a step only for instances whose state it changes, so a repeated run plans nothing.</item>
/// </list>
/// </summary>
public static class PlaybookPlanner
{
    /// <param name="prune">Remove owned instances the playbook no longer lists; null takes the playbook's own 'prune'.</param>
    public static Plan Plan(Playbook playbook, FleetState fleet, bool? prune = null) =>
        new Planning(playbook, fleet).Run(prune ?? playbook.Prune);

    /// <summary>The state an action leaves an instance in, or null when it would not change it.</summary>
    public static InstanceState? After(InstanceAction action, InstanceState state) => (action, state) switch
    {
        (InstanceAction.Start, InstanceState.Stopped or InstanceState.Crashed or InstanceState.Paused) => InstanceState.Running,
        (InstanceAction.Stop, InstanceState.Running or InstanceState.Paused or InstanceState.Blocked or InstanceState.Crashed
            or InstanceState.ShuttingDown or InstanceState.Suspended) => InstanceState.Stopped,
        (InstanceAction.Suspend, InstanceState.Running or InstanceState.Blocked) => InstanceState.Paused,
        (InstanceAction.Resume, InstanceState.Paused) => InstanceState.Running,
        (InstanceAction.Restart, InstanceState.Running or InstanceState.Blocked) => InstanceState.Running,
        _ => null,
    };

    /// <summary>An instance as it will be once the steps so far are applied.</summary>
    private sealed class Live(string name, IEnumerable<string> tags, string? image, InstanceState state, Instance? existing)
    {
        public string Name { get; } = name;
        public IReadOnlyList<string> Tags { get; } = tags.ToList();
        public string? Image { get; } = image;
        public InstanceState State { get; set; } = state;
        public Instance? Existing { get; } = existing;
    }

    private sealed class Planning(Playbook pb, FleetState fleet)
    {
        private readonly List<PlanStep> _steps = [];
        private readonly List<PlanProblem> _problems = [];
        private readonly List<Live> _live = [];
        private readonly List<Instance> _outside = [];

        public Plan Run(bool prune)
        {
            KeyPairs();
            Images();
            Networks();
            SecurityGroups();
            Instances();
            Addresses();
            var (removes, unlisted) = Others(prune);
            Operations();
            _steps.AddRange(removes);
            if (fleet.Hosts.Count == 0 && _steps.Any(s => s.Kind == PlanStepKind.Create && s.ResourceType == PlanResourceType.Instance))
                Problem(PlanResourceType.Instance, "*", "the playbook selects no reachable host to create instances on");
            return new Plan { Playbook = pb.Name, Environment = pb.Environment, Steps = _steps, Problems = _problems, Unlisted = unlisted, Unread = fleet.Unread, Outside = _outside };
        }

        private void KeyPairs()
        {
            foreach (var k in pb.KeyPairs.Where(k => !fleet.KeyPairs.Contains(k.Name, StringComparer.Ordinal)))
            {
                if (k.Generate) Add(PlanStepKind.Create, PlanResourceType.KeyPair, k.Name, "generate", k);
                else if (k.PublicKeyFile is { } file) Add(PlanStepKind.Create, PlanResourceType.KeyPair, k.Name, "import " + file, k);
                else Problem(PlanResourceType.KeyPair, k.Name, "not in the key store; give publicKeyFile or generate: true to create it");
            }
        }

        private void Images()
        {
            foreach (var img in pb.Images)
            {
                var have = fleet.Images.Where(i => i.Name == img.Name).Select(i => i.Host).ToHashSet(StringComparer.Ordinal);
                var missing = fleet.Hosts.Where(h => !have.Contains(h)).ToList();
                if (missing.Count == 0) continue;
                if (img.Path is { } path)
                    Add(PlanStepKind.Create, PlanResourceType.Image, img.Name, $"import {path} to {string.Join(", ", missing)}", img, hosts: missing);
                else if (have.Count == 0)
                    Problem(PlanResourceType.Image, img.Name, $"on none of the hosts ({string.Join(", ", fleet.Hosts)}); import it or give its path");
            }
        }

        private void Networks()
        {
            foreach (var net in pb.Networks)
            {
                var existing = fleet.Networks.Where(n => n.Name == net.Name).ToList();
                if (net.Mode is null)
                {
                    if (existing.Count == 0 && fleet.Hosts.Count > 0)
                        Problem(PlanResourceType.Network, net.Name, "defined on none of the hosts; give mode (and subnet or bridge) to create it");
                    continue;
                }
                foreach (var e in existing.Where(e => e.Mode is not null && (e.Mode != net.Mode || e.Subnet != net.Subnet || e.Bridge != net.Bridge)))
                    Problem(PlanResourceType.Network, net.Name,
                        $"on {e.Host} it is {e.Describe()}, the playbook says {net.Describe()}; VirtFleet does not redefine a network in use");
                var missing = fleet.Hosts.Where(h => existing.All(e => e.Host != h)).ToList();
                if (missing.Count == 0) continue;
                if (existing.Any(e => e.Mode is not null))
                    Problem(PlanResourceType.Network, net.Name,
                        $"is on {string.Join(", ", existing.Select(e => e.Host).Distinct())} but not on {string.Join(", ", missing)}; VirtFleet does not add hosts to a network it made");
                else
                    Add(PlanStepKind.Create, PlanResourceType.Network, net.Name, $"on {string.Join(", ", missing)}: {net.Describe()}", net, hosts: missing);
            }
        }

        /// <summary>Each host keeps its own copy of a group: created where missing, changed where its rules differ.</summary>
        private void SecurityGroups()
        {
            foreach (var g in pb.SecurityGroups)
            {
                var have = fleet.SecurityGroups.Where(x => x.Name == g.Name).ToList();
                var missing = fleet.Hosts.Where(h => have.All(x => x.Host != h)).ToList();
                if (missing.Count > 0)
                    Add(PlanStepKind.Create, PlanResourceType.SecurityGroup, g.Name,
                        $"on {string.Join(", ", missing)}: " + (g.Rules.Count == 0 ? "no rules, drops all inbound" : string.Join("; ", g.Rules)), g, hosts: missing);
                var changes = have.Select(x => (x.Host, Diff: string.Join("; ",
                        g.Rules.Except(x.Rules).Select(r => "+" + r).Concat(x.Rules.Except(g.Rules).Select(r => "-" + r)))))
                    .Where(x => x.Diff.Length > 0).GroupBy(x => x.Diff, x => x.Host);
                foreach (var c in changes)
                    Add(PlanStepKind.Change, PlanResourceType.SecurityGroup, g.Name, $"{c.Key} (on {string.Join(", ", c.Order(StringComparer.Ordinal))})", g,
                        hosts: c.Order(StringComparer.Ordinal).ToList());
            }
        }

        private void Instances()
        {
            var byName = fleet.Instances.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var outside = fleet.Outside.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var unread = fleet.Unread.Concat(fleet.OutsideUnread).ToList();
            foreach (var spec in pb.Instances)
            foreach (var name in spec.Names)
            {
                var one = spec with { Name = name, NamePrefix = null, Count = 1 };
                if (!byName.TryGetValue(name, out var found) && outside.TryGetValue(name, out var elsewhere))
                    // On a host the playbook does not select (a narrowed run): left where it is, never made a second time here.
                    _outside.AddRange(elsewhere);
                else if (found is null && unread.Count > 0)
                    // It may be on a host that did not answer: creating it elsewhere would make a second one.
                    Problem(PlanResourceType.Instance, name,
                        $"not found on the hosts that answered, and {string.Join(", ", unread)} did not answer; it is not created until every host that might hold it answers");
                else if (found is null) Create(one);
                else if (found.Count > 1)
                    Problem(PlanResourceType.Instance, name, $"exists on several hosts ({string.Join(", ", found.Select(i => i.Host))}); left alone until one remains");
                else if (!found[0].IsVirtFleet)
                    Problem(PlanResourceType.Instance, name,
                        $"a domain VirtFleet did not create has this name on {found[0].Host}; it is never touched: rename the playbook's instance");
                else Existing(one, found[0]);
            }
        }

        /// <summary>A new instance: the playbook's owner tag added (its owner record is written by the executor).</summary>
        private void Create(InstanceSpec one, string? replaces = null)
        {
            one = one with { Tags = [.. one.Tags, pb.OwnerTag] };
            var where = one.Network is null ? "" : ", network " + one.Network;
            Add(PlanStepKind.Create, PlanResourceType.Instance, one.Name, $"image {one.Image}, {one.Type}{where}" + (replaces is null ? "" : $"; replaces {replaces}"), one);
            _live.Add(new Live(one.Name, one.Tags, one.Image, InstanceState.Running, null));
        }

        private void Existing(InstanceSpec spec, Instance e)
        {
            var at = new[] { e.Host };
            // What libvirt cannot change in place (the disk's image, the NIC's network): a replace, and only of this playbook's own instances.
            var replace = new List<string>();
            if (!string.Equals(e.Image, spec.Image, StringComparison.OrdinalIgnoreCase))
                replace.Add($"image {e.Image ?? "(unknown)"} -> {spec.Image}");
            if (spec.Network is { } net && !e.Networks.Contains(net, StringComparer.Ordinal))
                replace.Add($"network {(e.Networks.Count == 0 ? "(none)" : string.Join(", ", e.Networks))} -> {net}");
            if (replace.Count > 0)
            {
                var what = string.Join(", ", replace);
                if (!pb.Owns(e))
                {
                    Problem(PlanResourceType.Instance, e.Name,
                        $"{what} needs a replace, and it was not created by this playbook (no owner record {pb.Id}); it is never replaced: remove it to re-create it");
                    _live.Add(new Live(e.Name, e.Tags, e.Image, e.State, e));
                    return;
                }
                Add(PlanStepKind.Remove, PlanResourceType.Instance, e.Name, "replace: " + what, spec, e, InstanceAction.Remove, at);
                Create(spec, what);
                return;
            }

            // In place: tags and security groups (metadata, live), the type (vCPUs and memory, while it is stopped).
            var tags = spec.Tags.Where(t => !e.Tags.Contains(t, StringComparer.OrdinalIgnoreCase)).ToList();
            var groups = spec.Groups.Where(g => !e.SecurityGroups.Contains(g, StringComparer.Ordinal)
                && !fleet.SecurityGroups.Any(x => x.Name == g && x.Host == e.Host && x.Members.Contains(e.Name, StringComparer.Ordinal))).ToList();
            var type = e.InstanceType is { } t && !string.Equals(t, spec.Type, StringComparison.OrdinalIgnoreCase) ? t : null;
            if (tags.Count + groups.Count > 0 || type is not null)
            {
                var running = e.State is not (InstanceState.Stopped or InstanceState.Crashed);
                var details = string.Join("; ", new[]
                {
                    tags.Count > 0 ? "tags " + string.Join(" ", tags.Select(x => "+" + x)) : null,
                    groups.Count > 0 ? "groups " + string.Join(" ", groups.Select(x => "+" + x)) : null,
                    type is null ? null : $"type {type} -> {spec.Type}" + (running ? " (stopped and started again)" : ""),
                }.OfType<string>());
                Add(PlanStepKind.Change, PlanResourceType.Instance, e.Name, details, spec, e, null, at);
            }

            var live = new Live(e.Name, e.Tags.Union(spec.Tags, StringComparer.OrdinalIgnoreCase), e.Image, e.State, e);
            _live.Add(live);
            // Listed means wanted running, unless an operation of this playbook decides its state.
            if (live.State is InstanceState.Stopped or InstanceState.Crashed && !pb.Operations.Any(o => Selects(o, live)))
            {
                Add(PlanStepKind.Change, PlanResourceType.Instance, e.Name, $"state {live.State} -> Running", spec, e, InstanceAction.Start, at);
                live.State = InstanceState.Running;
            }
        }

        private void Addresses()
        {
            foreach (var a in pb.Addresses)
            {
                var have = fleet.Addresses.FirstOrDefault(x => x.Address == a.Address);
                if (have is null)
                    Add(PlanStepKind.Create, PlanResourceType.Address, a.Address, a.Instance is null ? "pool" : "associate " + a.Instance, a);
                else if (a.Instance is not null && have.Instance != a.Instance)
                    Add(PlanStepKind.Change, PlanResourceType.Address, a.Address, $"instance {have.Instance ?? "(none)"} -> {a.Instance}", a);
            }
        }

        /// <summary>VirtFleet instances the playbook does not list: pruned when owned and asked to, else left as they are.</summary>
        private (List<PlanStep> Removes, List<Instance> Unlisted) Others(bool prune)
        {
            var listed = pb.InstanceNames.ToHashSet(StringComparer.Ordinal);
            var removes = new List<PlanStep>();
            var unlisted = new List<Instance>();
            foreach (var e in fleet.Instances.Where(i => i.IsVirtFleet && !listed.Contains(i.Name)).OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                if (pb.Owns(e))
                {
                    if (prune)
                    {
                        removes.Add(new PlanStep(PlanStepKind.Remove, PlanResourceType.Instance, e.Name, "prune")
                            { Instance = e, Action = InstanceAction.Remove, Hosts = [e.Host] });
                        continue;
                    }
                    unlisted.Add(e);
                }
                _live.Add(new Live(e.Name, e.Tags, e.Image, e.State, e));
            }
            return (removes, unlisted);
        }

        private void Operations()
        {
            foreach (var op in pb.Operations)
            foreach (var live in _live.Where(l => Selects(op, l)))
            {
                if (After(op.Action, live.State) is not { } next) continue;
                var verb = op.Action.ToString().ToLowerInvariant();
                var details = op.Action == InstanceAction.Restart ? $"{verb} ({live.State})" : $"{verb} ({live.State} -> {next})";
                Add(PlanStepKind.Operate, PlanResourceType.Instance, live.Name, details, null, live.Existing, op.Action,
                    live.Existing is null ? [] : [live.Existing.Host]);
                live.State = next;
            }
        }

        private static bool Selects(OperationSpec op, Live l) => op.Select.Matches(l.Name, l.Tags, l.Image);

        private void Add(PlanStepKind kind, PlanResourceType type, string name, string details, PlaybookResource? definition,
            Instance? instance = null, InstanceAction? action = null, IReadOnlyList<string>? hosts = null) =>
            _steps.Add(new PlanStep(kind, type, name, details) { Definition = definition, Instance = instance, Action = action, Hosts = hosts ?? [] });

        private void Problem(PlanResourceType type, string name, string message) => _problems.Add(new PlanProblem(type, name, message));
    }
}
