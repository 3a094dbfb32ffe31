using System.Management.Automation;
using VirtFleet.Migration;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Checks whether an instance can move to a host, one object per check; nothing is changed.</para>
/// <para type="description">The checks Move-VfInstance makes before anything moves: a VirtFleet instance in a state that can
/// move (running: live; stopped: offline), the destination not in maintenance and its libvirtd answering, the domain type
/// and CPU (libvirt's hypervisor-cpu-compare on the destination against the domain's CPU), free memory (with headroom),
/// vCPUs per CPU, free disk for the copy, the image the disks sit on present there, no domain of the same name or UUID there,
/// the instance's networks living on the destination, its security groups and public address movable, and its spread group
/// (no other member there). Each check is Passed, Warning or Failed with the figures it used.</para>
/// <example><code>Test-VfMigration web1 -Destination hv2</code></example>
/// <example><code>Test-VfMigration web1 -Destination hv2 | Where-Object Status -eq Failed</code></example>
/// <example><code>if (Test-VfMigration web1 hv2 -Quiet) { Move-VfInstance web1 hv2 }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "VfMigration")]
[OutputType(typeof(MigrationCheck), typeof(bool))]
public sealed class TestVfMigrationCommand : VfFleetCmdlet
{
    /// <summary>The instance, by name or instance id (Get-VfInstance output binds by its Name and Host).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Instance", "InstanceId")]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The host it would move to.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Destination { get; set; } = "";

    /// <summary>Check an offline move (the instance must be stopped). Default: live for a running instance, offline for a stopped one.</summary>
    [Parameter] public SwitchParameter Offline { get; set; }

    /// <summary>Return only $true (every check passed or warned) or $false.</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var op = new MoveOperation(Scope(inv));
        var request = new MoveRequest(Name, Destination, ExactHost(inv), Offline);
        RunAsync(async ct =>
        {
            try
            {
                var checks = await op.TestAsync(request, ct);
                if (Quiet) PostObject(checks.All(c => c.Passed));
                else foreach (var c in checks) PostObject(c);
            }
            catch (VfException e)
            {
                if (Quiet) PostObject(false);
                PostFailure(e, Name);
            }
        });
    }
}
