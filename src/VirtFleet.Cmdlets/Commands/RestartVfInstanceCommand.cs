using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Restarts instances (ACPI reboot; a hard reset with -Force).</para>
/// <example><code>Get-VfInstance -Tag lab | Restart-VfInstance</code></example>
/// <example><code>Restart-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Restart, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class RestartVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Restart;
}
