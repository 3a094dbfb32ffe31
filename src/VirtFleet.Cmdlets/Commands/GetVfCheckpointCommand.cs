using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists instances' checkpoints: name, when taken, the guest's state then, the memory saved, and the overlay file's size.</para>
/// <para type="description">Reads every host (one round trip each, in parallel). MemoryMiB is the guest memory a checkpoint
/// of a running guest saved (0 for a disk-only one); DiskFileMiB is the instance's overlay file as allocated on its host,
/// which holds its current data and every checkpoint's. Current marks the checkpoint the disk follows from.</para>
/// <example><code>Get-VfCheckpoint</code></example>
/// <example><code>Get-VfCheckpoint -Instance web1 -Name before-*</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfCheckpoint")]
[OutputType(typeof(Checkpoint))]
public sealed class GetVfCheckpointCommand : VfFleetCmdlet
{
    /// <summary>Instance names or ids (wildcards allowed). Default: every instance.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[]? Instance { get; set; }

    /// <summary>Checkpoint names (wildcards allowed). Default: every checkpoint.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        var list = RunAsync(ct => CheckpointOperations.ListAsync(scope, hosts, Instance, Name, ct));
        foreach (var cp in list ?? []) { cp.Inventory = inv.Path; WriteObject(cp); }
    }
}
