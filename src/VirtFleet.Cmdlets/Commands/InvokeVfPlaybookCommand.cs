using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Operations;
using VirtFleet.Playbooks;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Applies a playbook: reads the fleet, shows the plan as a diff (+ create, ~ change, - remove), then converges.</para>
/// <para type="description">The plan is computed from the hosts' real state. With -WhatIf only the diff is shown and no host is
/// changed. A second run with nothing changed does nothing and says so. Instances the playbook no longer lists are removed only
/// with -Prune (or prune: true in the playbook), and only those it created. Every step stays on the hosts the playbook selects
/// (its hosts:, narrowed by -Host/-HostTag; a listed instance found on another inventory host is left there) and uses this
/// command's credential, host-key and timeout settings. A selection that
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

    /// <summary>Remove instances this playbook created (by the owner record in their metadata) and no longer lists.</summary>
    [Parameter] public SwitchParameter Prune { get; set; }

    /// <summary>Write a JSON report of the run (steps, statuses, summary) to this file.</summary>
    [Parameter] public string? ReportPath { get; set; }

    protected override void ProcessRecord()
    {
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
        IReadOnlyList<Model.HostEntry> hosts;
        try { hosts = playbook.SelectHosts(Host is null && HostTag is null ? inv.Hosts : SelectHosts(inv), inv.Path); }
        catch (VfException ex) { ThrowFailure(ex, file); return; }

        var request = new ApplyPlaybookRequest
        {
            Playbook = playbook, Hosts = hosts, Prune = Prune.IsPresent ? true : null, Profiles = TemplatePaths.LoadProfiles(this),
        };
        var scope = Scope(inv);
        var summary = RunAsync(ct => ApplyPlaybook.RunAsync(scope, request, ct, (plan, answered) => Post(() =>
        {
            Say($"Playbook {playbook.Name}{(playbook.Environment is null ? "" : $" ({playbook.Environment})")} on {answered} of {hosts.Count} host(s):");
            // Steps, problems and notes indented under the title; the closing line ("No changes." or the counts) as it is.
            foreach (var line in plan.ToDiffText().Split('\n'))
                Say(line.Length > 0 && "+~-!#".Contains(line[0]) ? "  " + line : line);
        })), file);

        foreach (var r in summary.Steps) WriteObject(r);
        WriteObject(summary);
        if (ReportPath is not null && !MyInvocation.BoundParameters.ContainsKey("WhatIf"))
        {
            var report = GetUnresolvedProviderPathFromPSPath(ReportPath);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(report)!);
            File.WriteAllText(report, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        }
        // Last, so a scheduler sees it in the exit code: the run did not cover every selected host.
        if (summary.Incomplete)
            WriteFailure(new VfException("PlaybookIncomplete", FailureKind.ResourceUnavailable,
                $"Playbook {playbook.Name}: incomplete, {string.Join(", ", summary.UnreadHosts)} did not answer; what they hold was neither read nor changed. Run it again when they answer.",
                string.Join(",", summary.UnreadHosts)), playbook.Name);
    }

    /// <summary>Shown like Write-Host (information stream, tagged PSHOST and VfPlan), never pipeline output.</summary>
    private void Say(string line) =>
        WriteInformation(new HostInformationMessage { Message = line }, ["PSHOST", "VfPlan"]);
}
