using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes instances: destroys and undefines the domain and deletes only the disks VirtFleet made for it.</para>
/// <para type="description">Then releases the instances' networking: their address reservations in VirtFleet networks, their public
/// addresses (disassociated, kept allocated), and their firewall chains on their hosts. By name with nothing to ask about each
/// instance (-Confirm:$false), each host finds the instances whose name or id matches and removes them in the same round trip;
/// with -WhatIf or -Confirm they are found first and each is named in the question.</para>
/// <example><code>Get-VfInstance -Tag lab | Remove-VfInstance</code></example>
/// <example><code>Remove-VfInstance web1, web2 -PassThru</code></example>
/// <example><code>Remove-VfInstance 'test-*' -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class RemoveVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Remove;

    protected override Task<InstanceActionResult> RunOperation(FleetScope scope, InstanceActionRequest request, CancellationToken ct,
        Action<InstanceActionOutcome> onDone) => RemoveInstances.RunAsync(scope, request, ct, onDone);
}
