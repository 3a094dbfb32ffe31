using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Starts instances (a paused one is resumed).</para>
/// <example><code>Get-VfInstance -Tag lab | Start-VfInstance</code></example>
/// <example><code>Start-VfInstance web1, web2 -PassThru</code></example>
/// <example><code>Start-VfInstance web1 -Wait -PassThru | Select-Object Name, State, Addresses</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class StartVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Start;

    /// <summary>Wait until the instances run and, where they have a network, hold their addresses (as New-VfInstance -Wait); one without an address by then is a warning.</summary>
    [Parameter] public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to wait for the instances of each host (1-3600). Default: 180.</summary>
    [Parameter] [ValidateRange(1, 3600)] public int WaitTimeout { get; set; } = 180;

    protected override int WaitSeconds => Wait ? WaitTimeout : 0;
}
