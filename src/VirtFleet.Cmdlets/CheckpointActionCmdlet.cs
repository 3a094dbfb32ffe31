using System.Management.Automation;
using VirtFleet.Checkpoints;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Shared by Restore-VfCheckpoint and Remove-VfCheckpoint: checkpoints from the pipeline (Get-VfCheckpoint) or by instance
/// names and a checkpoint name, collected and handed to one Core operation at the end.
/// </summary>
public abstract class CheckpointActionCmdlet : VfFleetCmdlet
{
    protected const string ByObject = "ByObject";
    protected const string ByName = "ByName";

    /// <summary>Checkpoints, as Get-VfCheckpoint returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Checkpoint[] Checkpoint { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed) whose checkpoint -Name is meant.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Instance { get; set; } = [];

    /// <summary>The checkpoint's name.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByName)]
    public string Name { get; set; } = "";

    /// <summary>Return the checkpoints acted on.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    private readonly List<Checkpoint> _checkpoints = [];
    private readonly List<string> _names = [];

    /// <summary>The operation: <see cref="CheckpointOperations.RestoreAsync"/> or <see cref="CheckpointOperations.RemoveAsync"/>.</summary>
    protected abstract Task<IReadOnlyList<Checkpoint>> RunOperation(FleetScope scope, CheckpointRequest request, CancellationToken ct);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _checkpoints.AddRange(Checkpoint);
        else _names.AddRange(Instance);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_checkpoints.Select(t => t.Inventory));
        var request = new CheckpointRequest
        {
            Checkpoints = _checkpoints, InstanceNames = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            Name = _names.Count > 0 ? Name : null,
        };
        var scope = Scope(inv);
        var done = RunAsync(ct => RunOperation(scope, request, ct), _names.Count > 0 ? Name : null);
        if (PassThru) foreach (var cp in done ?? []) { cp.Inventory = inv.Path; WriteObject(cp); }
        base.EndProcessing();
    }
}
