using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes checkpoints of instances; the instances' current state is kept.</para>
/// <para type="description">The checkpoint's data is dropped from the instance's overlay and libvirt forgets it. Removing an instance (Remove-VfInstance) removes its checkpoints too.</para>
/// <example><code>Remove-VfCheckpoint web1 -Name before-upgrade</code></example>
/// <example><code>Get-VfCheckpoint -Name nightly | Remove-VfCheckpoint -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfCheckpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Checkpoint))]
public sealed class RemoveVfCheckpointCommand : CheckpointActionCmdlet
{
    protected override Task<IReadOnlyList<Checkpoint>> RunOperation(FleetScope scope, CheckpointRequest request, CancellationToken ct) =>
        CheckpointOperations.RemoveAsync(scope, request, ct);
}
