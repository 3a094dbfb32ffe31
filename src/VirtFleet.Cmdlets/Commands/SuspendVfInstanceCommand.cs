using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Suspends instances: pauses their vCPUs, keeping memory.</para>
/// <example><code>Get-VfInstance -Tag lab | Suspend-VfInstance</code></example>
/// <example><code>Suspend-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class SuspendVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Suspend;
}
