using System.Management.Automation;
using VirtFleet.Migration;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Moves an instance to another host: live when it runs, offline when it is stopped.</para>
/// <para type="description">A running instance moves live: libvirt live migration with its disks copied qemu to qemu (an
/// empty overlay on the same image is made on the destination first, then memory and the overlay's blocks are copied while
/// it runs), over a connection authorised for that move only (a temporary key the destination accepts only for libvirt's
/// own proxy, removed afterwards). Where both hosts are set to the native libvirt path (Set-VfHost -LibvirtPath Native, or
/// $env:VF_LIBVIRT = 'native'), this machine drives the live move itself over both hosts' libvirt connections
/// (virDomainMigrate3) and no key is needed; the result's Libvirt says which path moved it. A stopped instance moves offline: its files are copied host to host, checked, defined on
/// the destination, verified. The instance keeps its id, name, UUID, MAC addresses, address reservations, security-group
/// chains (in place on the destination before it arrives) and public address, which follow it. Every pre-check of
/// Test-VfMigration must pass first. A fault at any step leaves the instance running on exactly one host: what the move
/// prepared on the destination is removed again, and the source's disks are removed only after the destination is
/// verified. -WhatIf shows the plan; progress shows each step.</para>
/// <example><code>Move-VfInstance web1 -Destination hv2</code></example>
/// <example><code>Get-VfInstance -Host hv1 | Move-VfInstance -Destination hv3 -WhatIf</code></example>
/// <example><code>Stop-VfInstance db1; Move-VfInstance db1 -Destination hv2 -Offline; Start-VfInstance db1</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Move, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MigrationResult))]
public sealed class MoveVfInstanceCommand : VfFleetCmdlet
{
    /// <summary>The instance to move, by name or instance id (Get-VfInstance output binds by its Name and Host).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Instance", "InstanceId")]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The host to move it to (a host of the inventory, not in maintenance).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Move a stopped instance by copying its files (a stopped instance moves offline anyway; with -Offline a running one is refused rather than moved live).</summary>
    [Parameter] public SwitchParameter Offline { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var op = new MoveOperation(Scope(inv));
        var request = new MoveRequest(Name, Destination, ExactHost(inv), Offline);
        RunAsync(async ct =>
        {
            try
            {
                if (await op.MoveAsync(request, ct) is { } result)
                {
                    if (result.InstanceAfter is { } after) after.Inventory = inv.Path;
                    PostObject(result);
                }
            }
            catch (VfException e) { PostFailure(e, Name); }
        });
    }
}
