using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Instances;
using VirtFleet.Networking;
using VirtFleet.Playbooks;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>What happened to one plan step.</summary>
public sealed record PlaybookStepResult(string Symbol, string Kind, string Resource, string Name, string Details, string Status, string? Message);

/// <summary>The outcome of a playbook run.</summary>
public sealed record PlaybookSummary(string Playbook, string? Environment, int Planned, int Applied, int Failed, int Problems, bool Changed,
    DateTime Started, DateTime Finished, IReadOnlyList<PlaybookStepResult> Steps);

/// <summary>
/// <para type="synopsis">Applies a playbook: reads the fleet, shows the plan as a diff (+ create, ~ change, - remove), then converges.</para>
/// <para type="description">The plan is computed from the hosts' real state. With -WhatIf only the diff is shown and no host is
/// changed. A second run with nothing changed does nothing and says so. Instances the playbook no longer lists are removed only
/// with -Prune (or prune: true in the playbook), and only those it created. -ReportPath writes a JSON report for schedulers;
/// vfsh exits non-zero when a step failed.</para>
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
        var hosts = playbook.SelectHosts(Host is null && HostTag is null ? inv.Hosts : SelectHosts(inv));
        (_hosts, _options) = (hosts, options);
        var states = new List<HostState>();
        ForEachHost(hosts, options, "Reading the fleet", FleetStateReader.ReadAsync, (_, s) => states.Add(s));
        var plan = PlaybookPlanner.Plan(playbook, FleetStateReader.Assemble(states), Prune.IsPresent ? true : null);

        Say($"Playbook {playbook.Name}{(playbook.Environment is null ? "" : $" ({playbook.Environment})")} on {states.Count} host(s):");
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
                    results.AddRange(CreateInstances(spec, batch, inv.Path));
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
                        ? RemoveInstances(batch, inv.Path)
                        : RunLifecycle(action, batch, hosts, options));
                    continue;
                }
                results.Add(Apply(step));
            }
        }

        foreach (var r in results) WriteObject(r);
        var summary = new PlaybookSummary(playbook.Name, playbook.Environment, plan.Steps.Count,
            results.Count(r => r.Status == "Applied"), results.Count(r => r.Status == "Failed"), plan.Problems.Count,
            results.Any(r => r.Status == "Applied"), started, DateTime.UtcNow, results);
        if (!plan.HasChanges) Say("  Nothing to do: the fleet already matches the playbook.");
        WriteObject(summary);
        if (ReportPath is not null && !MyInvocation.BoundParameters.ContainsKey("WhatIf"))
        {
            var report = GetUnresolvedProviderPathFromPSPath(ReportPath);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(report)!);
            File.WriteAllText(report, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        }
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
    private IEnumerable<PlaybookStepResult> CreateInstances(InstanceSpec spec, List<PlanStep> batch, string inventory)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        ps.AddCommand("New-VfInstance")
            .AddParameter("Image", spec.Image).AddParameter("Name", batch.Select(s => s.Name).ToArray())
            .AddParameter("InstanceType", spec.Type).AddParameter("Placement", spec.Placement)
            .AddParameter("Tag", spec.Tags.ToArray()).AddParameter("Inventory", inventory).AddParameter("Confirm", false);
        if (spec.Network is not null) ps.AddParameter("Network", spec.Network);
        if (spec.KeyPair is not null) ps.AddParameter("KeyPair", spec.KeyPair);
        if (spec.UserData is not null) ps.AddParameter("UserData", spec.UserData);
        if (spec.Groups.Count > 0 && InvokeCommand.GetCmdlet("New-VfInstance")?.Parameters.ContainsKey("SecurityGroup") == true)
            ps.AddParameter("SecurityGroup", spec.Groups.ToArray());
        if (Host is not null) ps.AddParameter("Host", Host);
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
    private IEnumerable<PlaybookStepResult> RemoveInstances(List<PlanStep> batch, string inventory)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        ps.AddCommand("Remove-VfInstance").AddParameter("InputObject", batch.Select(s => s.Instance!).ToArray())
            .AddParameter("Inventory", inventory).AddParameter("Confirm", false);
        if (Host is not null) ps.AddParameter("Host", Host);
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
                .Select(s => new InstanceActions.Target(s.Instance!.Name, s.Instance.OwnedDisks)).ToList(), StopTimeoutSeconds, force: false, ct),
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
                    Nested("Import-VfImage", ("Path", img.Path), ("Host", step.Hosts.ToArray()));
                    break;
                case { ResourceType: PlanResourceType.SecurityGroup, Definition: SecurityGroupSpec g }:
                    var targets = _hosts.Where(h => step.Hosts.Contains(h.Name)).ToList();
                    ForEachHost(targets, _options!, $"Security group {g.Name}", async (remote, ct) =>
                    {
                        var stored = await SecurityGroupStore.LoadAsync(remote, ct);
                        var groups = stored.Groups.Where(x => x.Name != g.Name).Append(g.ToSecurityGroup()).ToList();
                        return await SecurityGroupStore.SaveAsync(remote, groups, stored.Version, ct);
                    }, (_, _) => { });
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
    private void Nested(string command, params (string Name, object? Value)[] parameters)
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        ps.AddCommand(command);
        foreach (var (name, value) in parameters) if (value is not null) ps.AddParameter(name, value);
        ps.AddParameter("Confirm", false);
        ps.Invoke();
        foreach (var e in ps.Streams.Error) WriteError(e);
        if (ps.HadErrors) throw new VfException("PlaybookStepFailed", FailureKind.InvalidOperation, $"{command} failed: {ps.Streams.Error.FirstOrDefault()?.Exception.Message}");
    }
}
