using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Model;
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
public sealed class RemoveVfCheckpointCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject";
    private const string ByName = "ByName";

    /// <summary>Checkpoints to remove, as Get-VfCheckpoint returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Checkpoint[] Checkpoint { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed) whose checkpoint -Name to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Instance { get; set; } = [];

    /// <summary>The checkpoint's name.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByName)]
    public string Name { get; set; } = "";

    /// <summary>Return the checkpoints removed.</summary>
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
        var done = RunAsync(ct => CheckpointOperations.RemoveAsync(scope, request, ct), _names.Count > 0 ? Name : null);
        if (PassThru) foreach (var cp in done ?? []) { cp.Inventory = inv.Path; WriteObject(cp); }
        base.EndProcessing();
    }
}
