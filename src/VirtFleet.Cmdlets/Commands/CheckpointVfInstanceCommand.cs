using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Takes a named checkpoint of instances: their disk, and the memory of a running guest.</para>
/// <para type="description">A checkpoint is a libvirt internal snapshot kept inside the instance's own qcow2 overlay: the
/// image it was made from (the overlay's backing file) is never written, and the domain's disks stay where they are. A
/// running guest's checkpoint holds its memory too (the guest pauses while it is saved, seconds per 100 MiB under TCG) and
/// restores running; a stopped guest's holds its disk. libvirt refuses internal snapshots of a guest with UEFI (pflash)
/// firmware on many versions; its error is passed on. Checkpoints are removed with the instance (Remove-VfInstance). Move-VfInstance
/// and Test-VfMigration fail the pre-check Checkpoints for an instance that has any (they would not move with it): remove them first.</para>
/// <example><code>Checkpoint-VfInstance web1 -Name before-upgrade -Description 'kernel 6.1 still'</code></example>
/// <example><code>Get-VfInstance -Tag lab | Checkpoint-VfInstance -Name nightly</code></example>
/// </summary>
[Cmdlet(VerbsData.Checkpoint, "VfInstance", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(Checkpoint))]
public sealed class CheckpointVfInstanceCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject";
    private const string ByName = "ByName";

    /// <summary>Instances to checkpoint, as Get-VfInstance returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Instance { get; set; } = [];

    /// <summary>The checkpoint's name: letters, digits, '-', '_', '.', 1-63 characters; unique per instance.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Name { get; set; } = "";

    /// <summary>Free text kept with the checkpoint (at most 1024 characters). Default: none.</summary>
    [Parameter]
    public string? Description { get; set; }

    private readonly List<Instance> _targets = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Instance);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_targets.Select(t => t.Inventory));
        var request = new CheckpointRequest
        {
            Instances = _targets, InstanceNames = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [], Name = Name, Description = Description,
        };
        var scope = Scope(inv);
        var made = RunAsync(ct => CheckpointOperations.CreateAsync(scope, request, ct), Name);
        foreach (var cp in made ?? []) { cp.Inventory = inv.Path; WriteObject(cp); }
        base.EndProcessing();
    }
}
