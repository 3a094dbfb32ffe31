using System.Management.Automation;
using VirtFleet.Lab;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Starts VirtFleet's local lab fleet: real hypervisor hosts in network namespaces.</para>
/// <para type="description">Brings the lab to -HostCount hosts (idempotent), registers them in the lab's own
/// inventory and makes that inventory the session's default, so the next VirtFleet command runs on the lab.
/// It also builds the project's guest images from Debian packages (cached): pipe GuestImages to Import-VfImage.
/// Linux and root only.</para>
/// <example><code>$lab = Start-VfLab -HostCount 3; $lab.GuestImages | Import-VfImage; New-VfInstance -Image win2008 -Count 3</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "VfLab", SupportsShouldProcess = true)]
[OutputType(typeof(LabStatus))]
public sealed class StartVfLabCommand : VfCmdlet
{
    /// <summary>How many hosts the lab should have (1-128). Default: 3.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 128)]
    public int HostCount { get; set; } = 3;

    /// <summary>Skip building the lab's guest images (tiny Linux, blank win2008).</summary>
    [Parameter]
    public SwitchParameter NoGuestImages { get; set; }

    /// <summary>Folder holding the lab's state, keys and inventory. Default: $env:VFLAB_STATE_DIR, else /var/lib/virtfleet-lab.</summary>
    [Parameter]
    public string? StateDirectory { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{HostCount} lab hosts", "Start VirtFleet lab")) return;
        var lab = LabCommands.Fleet(this, StateDirectory);
        WriteProgress(new ProgressRecord(1, "Starting VirtFleet lab", $"{HostCount} hosts"));
        var status = RunAsync(ct => lab.StartAsync(HostCount, ct));
        if (!NoGuestImages)
        {
            WriteProgress(new ProgressRecord(1, "Starting VirtFleet lab", "guest images"));
            status.GuestImages = RunAsync(lab.BuildGuestImagesAsync);
        }
        WriteProgress(new ProgressRecord(1, "Starting VirtFleet lab", "done") { RecordType = ProgressRecordType.Completed });
        Session.InventoryPath = LabCommands.RegisterInventory(status, HostCount);
        WriteObject(status);
    }
}
