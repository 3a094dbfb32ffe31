using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Resizes instances: a new instance type (memory and vCPUs) and/or a bigger root disk.</para>
/// <para type="description">A new type is written to the instance's definition and takes effect at its next start; with -Restart a
/// running instance is stopped (cleanly, then forced after 30 s) and started again at once. -DiskGiB grows the root disk, live
/// while the guest runs, never shrinks it (a smaller size is refused); the guest's own file system is the guest's to grow. An
/// instance with checkpoints cannot grow its disk (qcow2 refuses it): remove them first. Only VirtFleet's instances are changed.</para>
/// <example><code>Resize-VfInstance web1 -InstanceType m1.medium -Restart</code></example>
/// <example><code>Get-VfInstance db* | Resize-VfInstance -DiskGiB 40</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Resize, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Instance))]
public sealed class ResizeVfInstanceCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject", ByName = "ByName";

    /// <summary>Instances to resize, as Get-VfInstance returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>The new instance type (Get-VfInstanceType lists them): its memory and vCPUs.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(InstanceTypeCompleter))]
    public string? InstanceType { get; set; }

    /// <summary>The root disk's new size in GiB (1-65536); it must not be smaller than now.</summary>
    [Parameter] [ValidateRange(1, 65536)] public int? DiskGiB { get; set; }

    /// <summary>Stop and start a running instance so a new type takes effect now (else at its next start).</summary>
    [Parameter] public SwitchParameter Restart { get; set; }

    /// <summary>Return the instances as they are afterwards.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    private readonly List<Instance> _targets = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Name);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_targets.Select(t => t.Inventory));
        var request = new ResizeRequest
        {
            Instances = _targets, Names = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            InstanceType = InstanceType, DiskGiB = DiskGiB, Restart = Restart,
        };
        var scope = Scope(inv);
        var done = RunAsync(ct => ResizeInstances.RunAsync(scope, request, ct));
        if (PassThru && done is { Count: > 0 })
        {
            var hosts = (_targets.Count > 0 ? _targets.Select(t => t.Host).Distinct().Select(h => inv.Find(h)).OfType<HostEntry>().ToList() : SelectHosts(inv));
            var now = RunAsync(ct => ListInstances.RunAsync(scope, new ListInstancesRequest { Hosts = hosts, Names = done }, ct));
            foreach (var i in now ?? []) WriteInstance(i, inv);
        }
        base.EndProcessing();
    }
}
