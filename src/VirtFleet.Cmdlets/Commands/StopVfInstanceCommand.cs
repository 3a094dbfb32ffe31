using System.Management.Automation;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Stops instances: ACPI shutdown, forced off after -Timeout seconds, or at once with -Force.</para>
/// <para type="description">Asks each guest to shut down (ACPI) and waits up to -Timeout seconds before forcing it off. Where
/// the host's native libvirt path is up, every instance of the host is asked at once and their Stopped lifecycle events
/// are awaited (nothing polled, the host lock not held while waiting); else the host waits for each in turn. -Force powers
/// off at once (and acts on domains VirtFleet did not create).</para>
/// <example><code>Get-VfInstance -Tag lab | Stop-VfInstance</code></example>
/// <example><code>Stop-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class StopVfInstanceCommand : InstanceLifecycleCmdlet
{
    /// <summary>Seconds to wait for the guest to shut down before forcing it off (1-3600). Default: 60.</summary>
    [Parameter] [ValidateRange(1, 3600)] public int Timeout { get; set; } = 60;

    protected override InstanceAction Action => InstanceAction.Stop;
    protected override int TimeoutSeconds => Timeout;
}
