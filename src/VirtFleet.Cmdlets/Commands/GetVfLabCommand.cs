using System.Management.Automation;
using VirtFleet.Lab;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Shows the local lab fleet and its hosts.</para>
/// <example><code>(Get-VfLab).Hosts</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfLab")]
[OutputType(typeof(LabStatus))]
public sealed class GetVfLabCommand : VfCmdlet
{
    /// <summary>Folder holding the lab's state. Default: $env:VFLAB_STATE_DIR, else /var/lib/virtfleet-lab.</summary>
    [Parameter]
    public string? StateDirectory { get; set; }

    protected override void ProcessRecord()
    {
        var lab = LabCommands.Fleet(this, StateDirectory);
        WriteObject(RunAsync(lab.GetStatusAsync));
    }
}
