using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Networking;
using VirtFleet.Playbooks;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Applies a playbook: reads the fleet, shows the plan as a diff (+ create, ~ change, - remove), then converges.</para>
/// <para type="description">The plan is computed from the hosts' real state. With -WhatIf only the diff is shown and no host is
/// changed. A second run with nothing changed does nothing and says so. Instances the playbook no longer lists are removed only
/// with -Prune (or prune: true in the playbook), and only those it created. Every step stays on the hosts the playbook selects
/// (its hosts:, narrowed by -Host/-HostTag) and uses this command's credential, host-key and timeout settings. A selection that
/// matches no host is an error unless the playbook says allowEmpty: true; a selected host that does not answer makes the run
/// incomplete (an error, Incomplete in the summary and the report). -ReportPath writes a JSON report for schedulers; vfsh exits
/// non-zero when a step failed or the run was incomplete.</para>
/// <example><code>Invoke-VfPlaybook ./playbooks/windows-lab.yml -WhatIf</code></example>
/// <example><code>Invoke-VfPlaybook ./playbooks/nightly-suspend.yml -ReportPath /var/log/virtfleet/nightly.json -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "VfPlaybook", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PlaybookStepResult), typeof(PlaybookSummary))]
public sealed class InvokeVfPlaybookCommand : VfFleetCmdlet
{
    /// <summary>The playbook file (YAML).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>One of the playbook's environments: its variables override the defaults. Default: the defaults only.</summary>
    [Parameter] public string? Environment { get; set; }

    /// <summary>Remove instances this playbook created and no longer lists.</summary>
    [Parameter] public SwitchParameter Prune { get; set; }

    private IReadOnlyList<Model.HostEntry> _hosts = [];
    private Transport.SshOptions? _options;

    /// <summary>Write a JSON report of the run (steps, statuses, summary) to this file.</summary>
    [Parameter] public string? ReportPath { get; set; }

    protected override void ProcessRecord()
    {
        var started = DateTime.UtcNow;
        var file = GetUnresolvedProviderPathFromPSPath(Path);
        Playbook playbook;
        try { playbook = PlaybookLoader.Load(file, Environment); }
        catch (PlaybookException ex)
        {
            foreach (var e in ex.Errors) WriteFailure(new VfException(e.ErrorId, FailureKind.InvalidData, e.ToString(), $"{e.File}:{e.Line}:{e.Column}"));
            ThrowFailure(ex, file);
            return;
        }

        var inv = LoadInventory();
        var options = Options(inv);
        IReadOnlyList<Model.HostEntry> hosts;
        try { hosts = playbook.SelectHosts(Host is null && HostTag is null ? inv.Hosts : SelectHosts(inv), inv.Path); }
        catch (VfException ex) { ThrowFailure(ex, file); return; }
        (_hosts, _options, _inventoryPath) = (hosts, options, inv.Path);
        _addressed = playbook.Addresses.Select(a => a.Instance).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var states = new List<HostState>();
        ForEachHost(hosts, options, "Reading the fleet", FleetStateReader.ReadAsync, (_, s) => states.Add(s));
        var unread = hosts.Select(h => h.Name).Where(h => states.All(s => s.Host != h)).ToList();
        var plan = PlaybookPlanner.Plan(playbook, FleetStateReader.Assemble(states) with { Unread = unread }, Prune.IsPresent ? true : null);

        Say($"Playbook {playbook.Name}{(playbook.Environment is null ? "" : $" ({playbook.Environment})")} on {states.Count} of {hosts.Count} host(s):");
        foreach (var line in plan.ToDiffText().Split('\n')) Say("  " + line);

        var results = new List<PlaybookStepResult>();
        if (plan.Problems.Count > 0)
        {
            foreach (var p in plan.Problems)
                WriteFailure(new VfException("PlaybookPlanProblem", FailureKind.InvalidOperation, p.ToString(), p.Name));
        }
        else
        {
            // Consecutive instance creations of one playbook entry are made in one New-VfInstance call (placement sees the batch).
            var steps = plan.Steps.ToList();
            for (var i = 0; i < steps.Count; i++)
            {
                var step = steps[i];
                if (!ShouldProcess(step.ToString(), "Apply playbook step"))
                {
                    results.Add(Result(step, "Skipped", null));
                    continue;
                }
                if (step is { Kind: PlanStepKind.Create, ResourceType: PlanResourceType.Instance, Definition: InstanceSpec spec })
                {
                    var batch = new List<PlanStep> { step };
                    while (i + 1 < steps.Count && steps[i + 1] is { Kind: PlanStepKind.Create, Definition: InstanceSpec next } && SameEntry(next, spec)
                           && ShouldProcess(steps[i + 1].ToString(), "Apply playbook step"))
                        batch.Add(steps[++i]);
                    results.AddRange(CreateInstances(spec, batch));
                    continue;
                }
                if (step is { Instance: not null, Action: { } action })
                {
                    // Lifecycle steps with the same action run together: one round trip per host.
                    var batch = new List<PlanStep> { step };
                    while (i + 1 < steps.Count && steps[i + 1] is { Instance: not null } next && next.Action == action
                           && ShouldProcess(next.ToString(), "Apply playbook step"))
                        batch.Add(steps[++i]);
                    results.AddRange(action == InstanceAction.Remove
                        ? RemoveInstances(batch)
                        : RunLifecycle(action, batch, hosts, options));
                    continue;
                }
                results.Add(Apply(step));
            }
        }

        foreach (var r in results) WriteObject(r);
        var summary = new PlaybookSummary(playbook.Name, playbook.Environment, plan.Steps.Count,
            results.Count(r => r.Status == "Applied"), results.Count(r => r.Status == "Failed"), plan.Problems.Count,
            results.Any(r => r.Status == "Applied"), started, DateTime.UtcNow, results) { UnreadHosts = unread };
        if (!plan.HasChanges && unread.Count == 0 && plan.Problems.Count == 0) Say("  Nothing to do: the fleet already matches the playbook.");
        WriteObject(summary);
        if (ReportPath is not null && !MyInvocation.BoundParameters.ContainsKey("WhatIf"))
        {
            var report = GetUnresolvedProviderPathFromPSPath(ReportPath);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(report)!);
            File.WriteAllText(report, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        }
        // Last, so a scheduler sees it in the exit code: the run did not cover every selected host.
        if (unread.Count > 0)
            WriteFailure(new VfException("PlaybookIncomplete", FailureKind.ResourceUnavailable,
                $"Playbook {playbook.Name}: incomplete, {string.Join(", ", unread)} did not answer; what they hold was neither read nor changed. Run it again when they answer.",
                string.Join(",", unread)), playbook.Name);
    }

    private string _inventoryPath = "";
    private HashSet<string> _addressed = [];

    /// <summary>
    /// The parameters every nested VirtFleet cmdlet gets: exactly these hosts (never "all" for an empty list, which
    /// callers refuse first), this run's inventory, credential, host-key policy, timeouts and throttle.
    /// </summary>
    private PowerShell Nest(PowerShell ps, IEnumerable<string> hosts)
    {
        var list = hosts.ToArray();
        if (list.Length == 0) throw new InvalidOperationException("a nested step needs at least one host");
        ps.AddParameter("Host", list).AddParameter("Inventory", _inventoryPath)
            .AddParameter("ConnectTimeout", ConnectTimeout).AddParameter("OperationTimeout", OperationTimeout)
            .AddParameter("ThrottleLimit", ThrottleLimit).AddParameter("Confirm", false);
        if (Credential is not null) ps.AddParameter("Credential", Credential);
        if (AcceptNewHostKey) ps.AddParameter("AcceptNewHostKey", true);
        return ps;
    }

    /// <summary>Shown like Write-Host (information stream, tagged PSHOST and VfPlan), never pipeline output.</summary>
    private void Say(string line) =>
        WriteInformation(new HostInformationMessage { Message = line }, ["PSHOST", "VfPlan"]);

    private static bool SameEntry(InstanceSpec a, InstanceSpec b) =>
        a.Image == b.Image && a.Type == b.Type && a.Network == b.Network && a.KeyPair == b.KeyPair && a.Placement == b.Placement &&
        a.UserData == b.UserData && a.Tags.SequenceEqual(b.Tags) && a.Groups.SequenceEqual(b.Groups);

    private static PlaybookStepResult Result(PlanStep s, string status, string? message) =>
        new(s.Symbol.ToString(), s.Kind.ToString(), s.ResourceType.ToString(), s.Name, s.Details, status, message);

    /// <summary>New instances go through New-VfInstance itself, so a playbook creates exactly what the cmdlet would.</summary>
    private IEnumerable<PlaybookStepResult> CreateInstances(InstanceSpec spec, List<PlanStep> batch)
    {
        if (_hosts.Count == 0) return batch.Select(s => Result(s, "Failed", "the playbook selects no host"));
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        Nest(ps.AddCommand("New-VfInstance"), _hosts.Select(h => h.Name))
            .AddParameter("Image", spec.Image).AddParameter("Name", batch.Select(s => s.Name).ToArray())
            .AddParameter("InstanceType", spec.Type).AddParameter("Placement", spec.Placement)
            .AddParameter("Tag", spec.Tags.ToArray());
        if (spec.Network is not null) ps.AddParameter("Network", spec.Network);
        if (spec.KeyPair is not null) ps.AddParameter("KeyPair", spec.KeyPair);
        if (spec.UserData is not null) ps.AddParameter("UserData", spec.UserData);
        // A public address is forwarded to an instance's own address: wait until the instances it names have one.
        if (spec.Network is not null && _addressed.Overlaps(batch.Select(s => s.Name))) ps.AddParameter("Wait", true);
        if (spec.Groups.Count > 0 && InvokeCommand.GetCmdlet("New-VfInstance")?.Parameters.ContainsKey("SecurityGroup") == true)
            ps.AddParameter("SecurityGroup", spec.Groups.ToArray());
        var created = ps.Invoke().Select(o => o.BaseObject).OfType<Model.Instance>().Select(x => x.Name).ToHashSet();
        foreach (var e in ps.Streams.Error) WriteError(e);
        return batch.Select(s => created.Contains(s.Name)
            ? Result(s, "Applied", null)
            : Result(s, "Failed", ps.Streams.Error.FirstOrDefault(e => Equals(e.TargetObject, s.Name))?.Exception.Message ?? "not created"));
    }

    /// <summary>
    /// Removals go through Remove-VfInstance itself, so they also release the instances' networking (address
    /// reservations, public addresses, firewall chains) as the cmdlet does.
    /// </summary>
    private IEnumerable<PlaybookStepResult> RemoveInstances(List<PlanStep> batch)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        Nest(ps.AddCommand("Remove-VfInstance"), batch.Select(s => s.Instance!.Host).Distinct())
            .AddParameter("InputObject", batch.Select(s => s.Instance!).ToArray());
        ps.Invoke();
        foreach (var e in ps.Streams.Error) WriteError(e);
        return batch.Select(s => ps.Streams.Error.FirstOrDefault(e => Equals(e.TargetObject, s.Name)) is { } e
            ? Result(s, "Failed", e.Exception.Message)
            : ps.Streams.Error.FirstOrDefault(e => e.TargetObject is null || Equals(e.TargetObject, s.Instance!.Host)) is { } hostError
                ? Result(s, "Failed", hostError.Exception.Message)
                : Result(s, "Applied", null)).ToList();
    }

    private List<PlaybookStepResult> RunLifecycle(InstanceAction action, List<PlanStep> batch, IReadOnlyList<Model.HostEntry> hosts,
        Transport.SshOptions options)
    {
        var byHost = batch.GroupBy(s => s.Instance!.Host).ToDictionary(g => g.Key, g => g.ToList());
        var failures = new Dictionary<string, string>();
        var answered = new HashSet<string>();
        foreach (var missing in byHost.Keys.Where(h => hosts.All(x => x.Name != h)))
            foreach (var s in byHost[missing]) failures[s.Name] = $"host {missing} is not selected";
        ForEachHost(hosts.Where(h => byHost.ContainsKey(h.Name)).ToList(), options, $"{action} instances", (remote, ct) =>
            InstanceActions.RunAsync(remote, action, byHost[remote.Host.Name]
                .Select(s => new InstanceActions.Target(s.Instance!.Name, s.Instance.InstanceId)).ToList(), StopTimeoutSeconds, force: false, ct),
            (host, outcomes) =>
            {
                answered.Add(host.Name);
                foreach (var o in outcomes.Where(o => o.Error is not null))
                {
                    WriteFailure(o.Error!, o.Name);
                    failures[o.Name] = o.Error!.Message;
                }
            });
        return batch.Select(s =>
            failures.TryGetValue(s.Name, out var m) ? Result(s, "Failed", m)
            : answered.Contains(s.Instance!.Host) ? Result(s, "Applied", null)
            : Result(s, "Failed", $"host {s.Instance.Host} did not answer")).ToList();
    }

    /// <summary>How long a playbook's stop waits for a clean shutdown before forcing the instance off.</summary>
    private const int StopTimeoutSeconds = 30;

    private PlaybookStepResult Apply(PlanStep step)
    {
        try
        {
            switch (step)
            {
                case { ResourceType: PlanResourceType.KeyPair, Definition: KeyPairSpec k }:
                    if (k.PublicKeyFile is { } pub) KeyPairStore.Import(k.Name, File.ReadAllText(pub), force: false);
                    else KeyPairStore.Create(k.Name, force: false);
                    break;
                case { ResourceType: PlanResourceType.Image, Definition: ImageSpec img }:
                    Nested("Import-VfImage", step.Hosts, ("Path", img.Path));
                    break;
                case { ResourceType: PlanResourceType.SecurityGroup, Definition: SecurityGroupSpec g }:
                    var targets = _hosts.Where(h => step.Hosts.Contains(h.Name)).ToList();
                    ForEachHost(targets, _options!, $"Security group {g.Name}", async (remote, ct) =>
                    {
                        var stored = await SecurityGroupStore.LoadAsync(remote, ct);
                        var groups = stored.Groups.Where(x => x.Name != g.Name).Append(g.ToSecurityGroup()).ToList();
                        return await SecurityGroupStore.SaveAsync(remote, groups, stored.Generation + 1, stored.Version, ct);
                    }, (_, _) => { });
                    break;
                case { ResourceType: PlanResourceType.Network, Kind: PlanStepKind.Create, Definition: NetworkSpec n }:
                    // New-VfNetwork itself: the definition stored on every host, the network made on the hosts that lack it.
                    Nested("New-VfNetwork", step.Hosts, ("Name", n.Name), ("Mode", n.Mode), ("Subnet", n.Subnet), ("Bridge", n.Bridge),
                        ("Span", n.Span ? true : null));
                    break;
                case { ResourceType: PlanResourceType.Address, Definition: AddressSpec a }:
                    // New-VfAddress (into the pool), then Set-VfAddress (onto its instance's host, forwarded to the instance).
                    var where = _hosts.Select(h => h.Name).ToList();
                    if (step.Kind == PlanStepKind.Create) Nested("New-VfAddress", where, ("Address", a.Address));
                    if (a.Instance is not null) Nested("Set-VfAddress", where, ("Address", a.Address), ("Instance", a.Instance));
                    break;
                default:
                    throw new VfException("PlaybookStepNotSupported", FailureKind.InvalidOperation,
                        $"'{step}' is not supported yet by this version of VirtFleet.", step.Name);
            }
            return Result(step, "Applied", null);
        }
        catch (Exception ex) when (ex is VfException or IOException or CmdletInvocationException)
        {
            WriteFailure(ex, step.Name);
            return Result(step, "Failed", ex.Message);
        }
    }

    /// <summary>Runs another VirtFleet cmdlet in this runspace, passing its errors on.</summary>
    private void Nested(string command, IEnumerable<string> hosts, params (string Name, object? Value)[] parameters)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        Nest(ps.AddCommand(command), hosts);
        foreach (var (name, value) in parameters) if (value is not null) ps.AddParameter(name, value);
        ps.Invoke();
        foreach (var e in ps.Streams.Error) WriteError(e);
        if (ps.HadErrors) throw new VfException("PlaybookStepFailed", FailureKind.InvalidOperation, $"{command} failed: {ps.Streams.Error.FirstOrDefault()?.Exception.Message}");
    }
}
