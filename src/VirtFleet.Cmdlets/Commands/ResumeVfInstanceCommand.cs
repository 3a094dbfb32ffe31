using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Resumes suspended instances.</para>
/// <example><code>Get-VfInstance -Tag lab | Resume-VfInstance</code></example>
/// <example><code>Resume-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class ResumeVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Resume;
}
