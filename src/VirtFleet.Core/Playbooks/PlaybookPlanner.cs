using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Playbooks;

/// <summary>
/// Compares a playbook with a fleet snapshot and lists what to do, in order: key pairs, images, networks,
/// security groups, instances, addresses, operations, prunes. Pure: no I/O. Rules:
/// <list type="bullet">
/// <item>A listed instance that exists (VirtFleet's, same image/type/network) gets no step; missing tags or
/// groups are a change; a stopped one is started unless an operation selects it.</item>
/// <item>A name held by a domain VirtFleet did not create is a problem, never a change.</item>
/// <item>An unlisted instance is removed only with prune and only when it carries the playbook's owner tag.</item>
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
            return new Plan { Playbook = pb.Name, Environment = pb.Environment, Steps = _steps, Problems = _problems, Unlisted = unlisted, Unread = fleet.Unread };
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
                if (missing.Count > 0)
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
                    Add(PlanStepKind.Change, PlanResourceType.SecurityGroup, g.Name, $"{c.Key} (on {string.Join(", ", c)})", g, hosts: c.ToList());
            }
        }

        private void Instances()
        {
            var byName = fleet.Instances.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            foreach (var spec in pb.Instances)
            foreach (var name in spec.Names)
            {
                var one = spec with { Name = name, NamePrefix = null, Count = 1 };
                if (!byName.TryGetValue(name, out var found) && fleet.Unread.Count > 0)
                    // It may be on a host that did not answer: creating it elsewhere would make a second one.
                    Problem(PlanResourceType.Instance, name,
                        $"not found on the hosts that answered, and {string.Join(", ", fleet.Unread)} did not answer; it is not created until every selected host answers");
                else if (found is null)
                {
                    one = one with { Tags = [.. spec.Tags, pb.OwnerTag] };
                    var where = one.Network is null ? "" : ", network " + one.Network;
                    Add(PlanStepKind.Create, PlanResourceType.Instance, name, $"image {one.Image}, {one.Type}{where}", one);
                    _live.Add(new Live(name, one.Tags, one.Image, InstanceState.Running, null));
                }
                else if (found.Count > 1)
                    Problem(PlanResourceType.Instance, name, $"exists on several hosts ({string.Join(", ", found.Select(i => i.Host))}); left alone until one remains");
                else if (!found[0].IsVirtFleet)
                    Problem(PlanResourceType.Instance, name,
                        $"a domain VirtFleet did not create has this name on {found[0].Host}; it is never touched: rename the playbook's instance");
                else Existing(one, found[0]);
            }
        }

        private void Existing(InstanceSpec spec, Instance e)
        {
            var at = new[] { e.Host };
            if (!string.Equals(e.Image, spec.Image, StringComparison.OrdinalIgnoreCase))
                Problem(PlanResourceType.Instance, e.Name, $"runs image {e.Image ?? "(unknown)"}, the playbook says {spec.Image}; VirtFleet does not replace instances (remove it to re-create it)");
            if (e.InstanceType is { } type && !string.Equals(type, spec.Type, StringComparison.OrdinalIgnoreCase))
                Problem(PlanResourceType.Instance, e.Name, $"is {type}, the playbook says {spec.Type}; instances are not resized");
            if (spec.Network is { } net && !e.Networks.Contains(net, StringComparer.Ordinal))
                Problem(PlanResourceType.Instance, e.Name, $"is not on network {net} ({(e.Networks.Count == 0 ? "none" : string.Join(", ", e.Networks))}); instances are not moved between networks");

            var tags = spec.Tags.Where(t => !e.Tags.Contains(t, StringComparer.OrdinalIgnoreCase)).ToList();
            var groups = spec.Groups.Where(g => !fleet.SecurityGroups.Any(x => x.Name == g && x.Host == e.Host && x.Members.Contains(e.Name, StringComparer.Ordinal)))
                .ToList();
            // Changing an existing instance's tags or groups is not supported yet: said in the plan, not failed at apply.
            if (tags.Count + groups.Count > 0)
                Problem(PlanResourceType.Instance, e.Name, "lacks " + string.Join(" and ",
                    new[] { tags.Count > 0 ? "tags " + string.Join(" ", tags.Select(t => "+" + t)) : null,
                            groups.Count > 0 ? "groups " + string.Join(" ", groups.Select(g => "+" + g)) : null }.OfType<string>()) +
                    "; VirtFleet does not change the tags or groups of an existing instance yet: remove it to re-create it, or keep its tags and groups in the playbook");

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
                if (e.Tags.Contains(pb.OwnerTag, StringComparer.Ordinal))
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
