using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Stops the local lab fleet and removes everything it made.</para>
/// <para type="description">Stops every lab host's processes and removes namespaces, links, routes and state.</para>
/// <example><code>Stop-VfLab -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "VfLab", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class StopVfLabCommand : VfCmdlet
{
    /// <summary>Folder holding the lab's state.</summary>
    [Parameter]
    public string? StateDirectory { get; set; }

    protected override void ProcessRecord()
    {
        var lab = LabCommands.Fleet(this, StateDirectory);
        if (!ShouldProcess(lab.StateDir, "Stop VirtFleet lab and remove all its hosts")) return;
        RunAsync(lab.StopAsync);
        if (Session.InventoryPath is { } p && p.StartsWith(lab.StateDir, StringComparison.Ordinal))
            Session.InventoryPath = null;
    }
}
