using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Playbooks;

namespace VirtFleet.Operations;

/// <summary>
/// Applies a playbook (Invoke-VfPlaybook): reads the selected hosts (one round trip each; the inventory's other hosts only
/// for the names of their instances), plans (<see cref="PlaybookPlanner"/>), and applies each step through the same
/// operations the cmdlets run: key pairs, images, networks, security groups, instances (create, change in place, start,
/// replace), public addresses, operations, removals. Every step stays on the playbook's selection; a selected host that
/// does not answer makes the run incomplete and a name it might hold a plan problem. A plan with a problem applies nothing.
/// Each step is asked for once (ShouldProcess "Apply playbook step"); the operations under it are not asked again.
/// </summary>
public static class ApplyPlaybook
{
    /// <summary>Reads the fleet and plans; Answered is how many selected hosts answered; Fleet is what they hold.</summary>
    public static async Task<(Plan Plan, int Answered, FleetState Fleet)> PlanAsync(FleetScope scope, ApplyPlaybookRequest request, CancellationToken ct)
    {
        var pb = request.Playbook;
        var hosts = request.Hosts;
        var states = new List<HostState>();
        var gate = new object();
        await scope.ForEachHostAsync(hosts, "Reading the fleet", FleetStateReader.ReadAsync, ct, (_, s) => { lock (gate) states.Add(s); });
        var unread = hosts.Select(h => h.Name).Where(h => states.All(s => s.Host != h)).ToList();

        // The inventory's other hosts: only the names they hold, so a listed instance there is never made a second time here.
        var outside = new List<Instance>();
        var outsideUnread = new List<string>();
        var selected = hosts.Select(h => h.Name).ToHashSet(StringComparer.Ordinal);
        var others = scope.Inventory.Hosts.Where(h => !selected.Contains(h.Name)).ToList();
        if (pb.Instances.Count > 0 && others.Count > 0)
            await scope.ForEachHostAsync(others, "Checking instance names", InstanceReader.ReadAsync, ct,
                (_, list) => { lock (gate) outside.AddRange(list); },
                (h, e) =>
                {
                    scope.Report.Verbose($"{h.Name} (not selected) did not answer: {e.Message}");
                    lock (gate) outsideUnread.Add(h.Name);
                });

        var fleet = FleetStateReader.Assemble(states) with { Unread = unread, Outside = outside, OutsideUnread = outsideUnread };
        return (PlaybookPlanner.Plan(pb, fleet, request.Prune), states.Count, fleet);
    }

    /// <summary>
    /// Plans, hands the plan to <paramref name="onPlan"/> (with the number of selected hosts that answered), then applies it
    /// unless it has problems (each is one PlaybookPlanProblem failure). Returns the run's summary; a failed step is also a
    /// reported failure.
    /// </summary>
    public static async Task<PlaybookSummary> RunAsync(FleetScope scope, ApplyPlaybookRequest request, CancellationToken ct,
        Action<Plan, int>? onPlan = null)
    {
        var started = DateTime.UtcNow;
        var pb = request.Playbook;
        var (plan, answered, fleet) = await PlanAsync(scope, request, ct);
        onPlan?.Invoke(plan, answered);

        var results = new List<PlaybookStepResult>();
        if (plan.Problems.Count > 0)
        {
            foreach (var p in plan.Problems)
                scope.Report.Failure(new VfException("PlaybookPlanProblem", FailureKind.InvalidOperation, p.ToString(), p.Name));
        }
        else results.AddRange(await new Applying(scope, request, plan).RunAsync(ct));

        return new PlaybookSummary(pb.Name, pb.Environment, plan.Steps.Count,
            results.Count(r => r.Status == "Applied"), results.Count(r => r.Status == "Failed"), plan.Problems.Count,
            results.Any(r => r.Status == "Applied"), started, DateTime.UtcNow, results)
        {
            UnreadHosts = plan.Unread,
            // The playbook's own Windows instances' passwords, encrypted, as their consoles held them when the run read the
            // fleet (an instance created in this run reports its password on a later run, once its first boot wrote it).
            Passwords = fleet.Passwords.Where(p => fleet.Instances.Any(i => i.Host == p.Host && i.Name == p.Instance && pb.Owns(i))).ToList(),
        };
    }

    private sealed class Applying(FleetScope scope, ApplyPlaybookRequest request, Plan plan)
    {
        private readonly Playbook _pb = request.Playbook;
        private readonly HashSet<string> _addressed = request.Playbook.Addresses.Select(a => a.Instance).OfType<string>().ToHashSet(StringComparer.Ordinal);
        private readonly Dictionary<string, PlaybookStepResult> _groupsDone = new(StringComparer.Ordinal);

        private bool Approve(PlanStep s) => scope.Report.ShouldProcess(s.ToString(), "Apply playbook step");

        public async Task<List<PlaybookStepResult>> RunAsync(CancellationToken ct)
        {
            var results = new List<PlaybookStepResult>();
            var steps = plan.Steps;
            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                if (!Approve(step))
                {
                    results.Add(PlaybookStepResult.Of(step, "Skipped"));
                    continue;
                }
                // Steps of one kind that follow each other run together: placement sees a whole batch of creations, and a
                // lifecycle action or an in-place change is one round trip per host.
                var batch = new List<PlanStep> { step };
                if (step is { Kind: PlanStepKind.Create, ResourceType: PlanResourceType.Instance, Definition: InstanceSpec spec })
                {
                    while (i + 1 < steps.Count && steps[i + 1] is { Kind: PlanStepKind.Create, Definition: InstanceSpec next } && SameEntry(next, spec))
                    {
                        if (Approve(steps[++i])) batch.Add(steps[i]);
                        else results.Add(PlaybookStepResult.Of(steps[i], "Skipped"));
                    }
                    results.AddRange(await CreateAsync(spec, batch, ct));
                }
                else if (step is { ResourceType: PlanResourceType.Instance, Kind: PlanStepKind.Change, Action: null })
                {
                    while (i + 1 < steps.Count && steps[i + 1] is { ResourceType: PlanResourceType.Instance, Kind: PlanStepKind.Change, Action: null })
                    {
                        if (Approve(steps[++i])) batch.Add(steps[i]);
                        else results.Add(PlaybookStepResult.Of(steps[i], "Skipped"));
                    }
                    results.AddRange(await ChangeAsync(batch, ct));
                }
                else if (step is { ResourceType: PlanResourceType.Instance, Action: { } action })
                {
                    while (i + 1 < steps.Count && steps[i + 1] is { ResourceType: PlanResourceType.Instance, Action: { } a } && a == action
                           && !(action == InstanceAction.Remove && steps[i + 1].Kind != step.Kind))
                    {
                        if (Approve(steps[++i])) batch.Add(steps[i]);
                        else results.Add(PlaybookStepResult.Of(steps[i], "Skipped"));
                    }
                    results.AddRange(action == InstanceAction.Remove ? await RemoveAsync(batch, ct) : await ActAsync(action, batch, ct));
                }
                else results.Add(await ApplyAsync(step, ct));
            }
            return results;
        }

        private static bool SameEntry(InstanceSpec a, InstanceSpec b) =>
            a.Image == b.Image && a.Type == b.Type && a.Network == b.Network && a.KeyPair == b.KeyPair && a.Placement == b.Placement &&
            a.UserData == b.UserData && a.Tags.SequenceEqual(b.Tags) && a.Groups.SequenceEqual(b.Groups);

        /// <summary>New instances through CreateInstances (as New-VfInstance), with the playbook's owner record, on its hosts only.</summary>
        private async Task<IEnumerable<PlaybookStepResult>> CreateAsync(InstanceSpec spec, List<PlanStep> batch, CancellationToken ct)
        {
            var names = batch.Select(s => s.Name).ToList();
            var report = new StepReporter(scope.Report);
            var created = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                var made = await CreateInstances.RunAsync(scope.With(report), new CreateInstancesRequest
                {
                    Image = spec.Image, Names = names, InstanceType = spec.Type, KeyPair = spec.KeyPair, UserData = spec.UserData,
                    Network = spec.Network, Tags = spec.Tags, SecurityGroups = spec.Groups, Owner = _pb.Owner, Placement = spec.Placement,
                    // A public address is forwarded to an instance's own address: wait until the instances it names have one.
                    Wait = _addressed.Overlaps(names), Hosts = request.Hosts, Profiles = request.Profiles,
                }, ct);
                created.UnionWith(made.Select(m => m.Name));
            }
            catch (VfException ex) { report.Failure(ex); }
            return batch.Select(s => created.Contains(s.Name)
                ? PlaybookStepResult.Of(s, "Applied")
                : PlaybookStepResult.Of(s, "Failed", report.FailureOf(s.Name) ?? "not created"));
        }

        /// <summary>Tags, security groups and type changed in place (UpdateInstances); the firewall follows where an instance joined a group.</summary>
        private async Task<IEnumerable<PlaybookStepResult>> ChangeAsync(List<PlanStep> batch, CancellationToken ct)
        {
            var report = new StepReporter(scope.Report);
            var stepScope = scope.With(report);
            var failed = new Dictionary<string, string>(StringComparer.Ordinal);
            var changes = new List<InstanceUpdater.Change>();
            foreach (var s in batch)
            {
                var e = s.Instance!;
                var spec = (InstanceSpec)s.Definition!;
                try
                {
                    var type = e.InstanceType is { } t && !string.Equals(t, spec.Type, StringComparison.OrdinalIgnoreCase) ? InstanceType.Find(spec.Type) : null;
                    changes.Add(new InstanceUpdater.Change(e,
                        spec.Tags.Where(x => !e.Tags.Contains(x, StringComparer.OrdinalIgnoreCase)).ToList(),
                        spec.Groups.Where(g => !e.SecurityGroups.Contains(g, StringComparer.Ordinal)).ToList(),
                        type, StopIfRunning: type is not null));
                }
                catch (VfException ex) { report.Failure(FleetNetworking.Retarget(ex, s.Name)); failed[s.Name] = ex.Message; }
            }
            try
            {
                foreach (var (name, why) in await UpdateInstances.RunAsync(stepScope, changes, ct)) failed[name] = why;
                var joined = changes.Where(c => c.AddGroups is { Count: > 0 } && !failed.ContainsKey(c.Instance.Name)).Select(c => c.Instance.Host).Distinct().ToList();
                if (joined.Count > 0)
                {
                    var networking = new FleetNetworking(stepScope);
                    var read = await networking.ReadAsync(ct);
                    await networking.ReconcileAsync(read, read.Fleet, joined, useKnownState: true, checkOnly: false, ct);
                }
            }
            catch (VfException ex)
            {
                report.Failure(ex);
                foreach (var s in batch) failed.TryAdd(s.Name, ex.Message);
            }
            return batch.Select(s => failed.TryGetValue(s.Name, out var why) ? PlaybookStepResult.Of(s, "Failed", why) : PlaybookStepResult.Of(s, "Applied"));
        }

        /// <summary>
        /// A lifecycle action (a start of a stopped listed instance, an operation) through InstanceLifecycle; an instance created
        /// in this run (no Instance yet) is found by name on the selected hosts.
        /// </summary>
        private async Task<IEnumerable<PlaybookStepResult>> ActAsync(InstanceAction action, List<PlanStep> batch, CancellationToken ct)
        {
            var report = new StepReporter(scope.Report);
            InstanceActionResult? result = null;
            try
            {
                result = await InstanceLifecycle.RunAsync(scope.With(report), new InstanceActionRequest
                {
                    Action = action, Instances = batch.Select(s => s.Instance).OfType<Instance>().ToList(),
                    Names = batch.Where(s => s.Instance is null).Select(s => s.Name).ToList(), SearchHosts = request.Hosts,
                    TimeoutSeconds = request.StopTimeoutSeconds,
                }, ct);
            }
            catch (VfException ex) { report.Failure(ex); }
            return Outcomes(batch, result, report);
        }

        /// <summary>Removals (prune, the first half of a replace) through RemoveInstances: the release path of Remove-VfInstance.</summary>
        private async Task<IEnumerable<PlaybookStepResult>> RemoveAsync(List<PlanStep> batch, CancellationToken ct)
        {
            var report = new StepReporter(scope.Report);
            InstanceActionResult? result = null;
            try
            {
                result = await RemoveInstances.RunAsync(scope.With(report), new InstanceActionRequest
                {
                    Action = InstanceAction.Remove, Instances = batch.Select(s => s.Instance!).ToList(), TimeoutSeconds = request.StopTimeoutSeconds,
                }, ct);
            }
            catch (VfException ex) { report.Failure(ex); }
            return Outcomes(batch, result, report);
        }

        private static IEnumerable<PlaybookStepResult> Outcomes(List<PlanStep> batch, InstanceActionResult? result, StepReporter report) =>
            batch.Select(s =>
            {
                var o = result?.Outcomes.FirstOrDefault(x => x.Name == s.Name && (s.Instance is null || x.Host == s.Instance.Host));
                return o?.Status switch
                {
                    InstanceActionStatus.Done => PlaybookStepResult.Of(s, "Applied"),
                    InstanceActionStatus.Skipped => PlaybookStepResult.Of(s, "Skipped"),
                    _ => PlaybookStepResult.Of(s, "Failed", o?.Error?.Message ?? report.FailureOf(s.Name, s.Hosts) ?? $"not done: {s.Instance?.Host ?? "its host"} did not answer"),
                };
            }).ToList();

        private async Task<PlaybookStepResult> ApplyAsync(PlanStep step, CancellationToken ct)
        {
            var report = new StepReporter(scope.Report);
            var stepScope = scope.With(report);
            try
            {
                switch (step)
                {
                    case { ResourceType: PlanResourceType.KeyPair, Definition: KeyPairSpec k }:
                        if (k.PublicKeyFile is { } pub) KeyPairOperations.Import(report, k.Name, null, pub, force: false);
                        else KeyPairOperations.Create(report, k.Name, force: false, k.Type);
                        break;
                    case { ResourceType: PlanResourceType.Image, Definition: ImageSpec { Path: { } path } img }:
                        await ImageOperations.ImportAsync(stepScope, new ImportImageRequest
                        {
                            Path = path, Name = img.Name, Hosts = request.Hosts.Where(h => step.Hosts.Contains(h.Name)).ToList(),
                        }, ct);
                        break;
                    case { ResourceType: PlanResourceType.Network, Kind: PlanStepKind.Create, Definition: NetworkSpec { Mode: { } mode } n }:
                        await NetworkOperations.NewAsync(stepScope, new NewNetworkRequest(n.Name, mode, step.Hosts, n.Subnet, n.Span, n.Bridge), ct);
                        break;
                    case { ResourceType: PlanResourceType.SecurityGroup, Definition: SecurityGroupSpec g }:
                        // The group is one fleet document: its steps (created on some hosts, changed on others) are one write,
                        // and a changed rule re-applies the firewall where a member runs, nothing else.
                        if (_groupsDone.TryGetValue(g.Name, out var done)) return done with { Symbol = step.Symbol.ToString(), Kind = step.Kind.ToString(), Details = step.Details };
                        await SecurityGroupOperations.SetAsync(stepScope, new SecurityRulesRequest(g.Name, g.Rules.Select(r => r.ToString()).ToList()), ct);
                        break;
                    case { ResourceType: PlanResourceType.Address, Definition: AddressSpec a }:
                        if (step.Kind == PlanStepKind.Create) await AddressOperations.NewAsync(stepScope, new NewAddressRequest(a.Address), ct);
                        if (a.Instance is not null) await AddressOperations.SetAsync(stepScope, new SetAddressRequest(a.Address, a.Instance), ct);
                        break;
                    default:
                        throw new VfException("PlaybookStepNotSupported", FailureKind.InvalidOperation,
                            $"'{step}' is not supported by this version of VirtFleet.", step.Name);
                }
            }
            catch (Exception ex) when (ex is VfException or IOException or UnauthorizedAccessException)
            {
                report.Failure(ex as VfException ?? new VfException("PlaybookStepFailed", FailureKind.InvalidOperation, ex.Message, step.Name, ex));
            }
            var result = report.Failures.Count == 0 ? PlaybookStepResult.Of(step, "Applied") : PlaybookStepResult.Of(step, "Failed", report.Failures[0].Message);
            if (step.Definition is SecurityGroupSpec sg) _groupsDone[sg.Name] = result;
            return result;
        }
    }
}
