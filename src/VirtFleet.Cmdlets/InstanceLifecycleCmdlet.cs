using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Shared by Start/Stop/Restart/Suspend/Resume/Remove-VfInstance: instances from the pipeline (Get-VfInstance)
/// or by name, grouped by host, one round trip per host, hosts in parallel. Domains VirtFleet did not create
/// are refused unless -Force.
/// </summary>
public abstract class InstanceLifecycleCmdlet : VfFleetCmdlet
{
    protected const string ByObject = "ByObject";
    protected const string ByName = "ByName";

    /// <summary>Instances to act on, as Get-VfInstance returns them (from the pipeline); each names its host and the inventory it was read through.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Act on domains VirtFleet did not create too (and, for Stop/Restart, power off at once).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>Return the instances as they are afterwards.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected abstract InstanceAction Action { get; }
    protected virtual int TimeoutSeconds => 60;
    /// <summary>Seconds to wait after a start until the instances run and hold their addresses (Start-VfInstance -Wait); 0: none.</summary>
    protected virtual int WaitSeconds => 0;

    private readonly List<Instance> _targets = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Name);
    }

    /// <summary>The operation: <see cref="InstanceLifecycle"/>, or Remove-VfInstance's <see cref="RemoveInstances"/>.</summary>
    protected virtual Task<InstanceActionResult> RunOperation(FleetScope scope, InstanceActionRequest request, CancellationToken ct,
        Action<InstanceActionOutcome> onDone) => InstanceLifecycle.RunAsync(scope, request, ct, onDone);

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_targets.Select(t => t.Inventory));
        var request = new InstanceActionRequest
        {
            Action = Action, Instances = _targets, Names = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            Force = Force, TimeoutSeconds = TimeoutSeconds, WaitSeconds = WaitSeconds,
        };
        var scope = Scope(inv);
        RunAsync(ct => RunOperation(scope, request, ct, o => Post(() =>
        {
            if (Action == InstanceAction.Remove) Session.Known.Gone(o.Host, o.Name);
            if (PassThru && o.After is not null) WriteInstance(o.After, inv);
        })));
        base.EndProcessing();
    }
}
