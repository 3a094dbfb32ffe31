using System.Management.Automation;
using VirtFleet.Checkpoints;
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
public sealed class RestoreVfCheckpointCommand : CheckpointActionCmdlet
{
    protected override Task<IReadOnlyList<Checkpoint>> RunOperation(FleetScope scope, CheckpointRequest request, CancellationToken ct) =>
        CheckpointOperations.RestoreAsync(scope, request, ct);
}
