using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Starts instances (a paused one is resumed).</para>
/// <example><code>Get-VfInstance -Tag lab | Start-VfInstance</code></example>
/// <example><code>Start-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class StartVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Start;
}
