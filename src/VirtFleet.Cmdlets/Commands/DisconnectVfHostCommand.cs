using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Closes this session's pooled SSH connections (to all hosts, or the named ones).</para>
/// <example><code>Disconnect-VfHost</code></example>
/// </summary>
[Cmdlet(VerbsCommunications.Disconnect, "VfHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
public sealed class DisconnectVfHostCommand : VfCmdlet
{
    /// <summary>Host names whose pooled connections are closed (wildcards allowed). Default: every host this session is connected to.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Inventory file (a path); default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY, else the user's config folder. Used to resolve -Name.</summary>
    [Parameter] public string? Inventory { get; set; }

    protected override void ProcessRecord()
    {
        var hosts = Name is null ? null : SelectFrom(OpenInventory(Inventory), Name);
        if (!ShouldProcess(Name is null ? "all hosts" : string.Join(", ", Name), "Close SSH connections")) return;
        RunAsync(_ => Session.Pool.CloseAsync(hosts));
    }
}
