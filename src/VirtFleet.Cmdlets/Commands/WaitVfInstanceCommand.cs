using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Waits until instances reach a state (Running, Stopped, Paused...), on their hosts' lifecycle events, and returns them.</para>
/// <para type="description">Subscribes to each host's lifecycle events first, then reads the instances' state once (an
/// instance already in the state returns at once), then waits for the event that brings each instance to the state and
/// returns the instance as read right after. Nothing is polled. An instance still waiting after -Timeout is one
/// WaitTimeout error (OperationTimeout); one that is undefined or migrates away meanwhile is one error too.</para>
/// <example><code>Start-VfInstance web1; Wait-VfInstance web1 -State Running</code></example>
/// <example><code>Get-VfInstance -Tag batch | Wait-VfInstance -State Stopped -Timeout 3600</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Wait, "VfInstance", DefaultParameterSetName = ByName)]
[OutputType(typeof(Instance))]
public sealed class WaitVfInstanceCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject";
    private const string ByName = "ByName";

    /// <summary>Instances to wait for, as Get-VfInstance returns them (from the pipeline); each names its host.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (exact), looked for on the selected hosts; also bound from the pipeline by property name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByName)]
    [Alias("InstanceId")]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>The state to wait for (Running, Stopped, Paused, Suspended, Crashed, ShuttingDown).</summary>
    [Parameter(Mandatory = true)]
    public InstanceState State { get; set; }

    /// <summary>Seconds to wait (1-86400) before each instance not yet in the state is a WaitTimeout error. Default: 300.</summary>
    [Parameter] [ValidateRange(1, 86400)] public int Timeout { get; set; } = 300;

    private readonly List<Instance> _instances = [];
    private readonly List<string> _names = [];
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _instances.AddRange(InputObject);
        else
        {
            _names.AddRange(Name);
            foreach (var h in Host ?? []) _hosts.Add(h);
        }
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_instances.Select(t => t.Inventory));
        var request = new WaitInstancesRequest
        {
            Instances = _instances, Names = _names.Distinct().ToList(), State = State, Timeout = TimeSpan.FromSeconds(Timeout),
            SearchHosts = _names.Count > 0 ? SelectFrom(inv, _hosts.Count > 0 ? _hosts : null, HostTag) : [],
        };
        var scope = Scope(inv);
        RunAsync(ct => WaitInstances.RunAsync(scope, request, ct, i => Post(() => WriteInstance(i, inv))));
        base.EndProcessing();
    }
}
