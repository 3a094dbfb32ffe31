using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Restores instances to a checkpoint: their disk, and for a checkpoint of a running guest its memory; what changed since is lost.</para>
/// <para type="description">The guest comes back in the state it was checkpointed in: a checkpoint of a running guest restores running where it was (its memory and disk as then); a disk-only one leaves it shut off. Asks first (ConfirmImpact High): use -WhatIf to see what would be restored, -Confirm:$false in scripts. A guest in a security group that comes back running is held paused until its default deny is in place, and its host's firewall follows. The checkpoint is kept (restore it again, or remove it with Remove-VfCheckpoint).</para>
/// <example><code>Restore-VfCheckpoint web1 -Name before-upgrade</code></example>
/// <example><code>Get-VfCheckpoint -Instance web1 -Name before-upgrade | Restore-VfCheckpoint -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsData.Restore, "VfCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(Checkpoint))]
public sealed class RestoreVfCheckpointCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject";
    private const string ByName = "ByName";

    /// <summary>Checkpoints to restore, as Get-VfCheckpoint returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Checkpoint[] Checkpoint { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed) whose checkpoint -Name to restore.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Instance { get; set; } = [];

    /// <summary>The checkpoint's name.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByName)]
    public string Name { get; set; } = "";

    /// <summary>Return the checkpoints restored to.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    private readonly List<Checkpoint> _checkpoints = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _checkpoints.AddRange(Checkpoint);
        else _names.AddRange(Instance);
    }

    protected override void EndProcessing()
    {
        var inv = Inventory is null && _checkpoints.Select(t => t.Inventory).Distinct().ToList() is [{ } from]
            ? Session.LoadInventory(from) : LoadInventory();
        var request = new CheckpointRequest
        {
            Checkpoints = _checkpoints, InstanceNames = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            Name = _names.Count > 0 ? Name : null,
        };
        var scope = Scope(inv);
        var done = RunAsync(ct => CheckpointOperations.RestoreAsync(scope, request, ct), _names.Count > 0 ? Name : null);
        if (PassThru) foreach (var cp in done ?? []) { cp.Inventory = inv.Path; WriteObject(cp); }
        base.EndProcessing();
    }
}
