using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Closes this session's pooled SSH connections (to all hosts, or the named ones); -All also ends the user's connection keeper.</para>
/// <para type="description">The user's connection keeper closes its connections to the same hosts, so the next command
/// connects anew (and checks the host key again). -All closes every connection of this session and ends the keeper with
/// all it holds; the next command starts a new one.</para>
/// <example><code>Disconnect-VfHost</code></example>
/// <example><code>Disconnect-VfHost -All</code></example>
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

    /// <summary>Also end the user's connection keeper (shared by this user's VirtFleet processes) and the connections it holds.</summary>
    [Parameter] public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var hosts = Name is null ? null : SelectFrom(OpenInventory(Inventory), Name);
        if (!ShouldProcess(All ? "all hosts and the connection keeper" : Name is null ? "all hosts" : string.Join(", ", Name), "Close SSH connections")) return;
        var keeper = Transport.Keeper.KeeperClient.Shared;
        RunAsync(async ct =>
        {
            await Session.Pool.CloseAsync(All ? null : hosts);
            if (keeper is null) return;
            if (All)
            {
                if (await keeper.StopAsync(ct)) PostVerbose("the connection keeper ended");
            }
            else await keeper.CloseAsync(hosts?.Select(h => h.Name).ToList(), ct);
        });
    }
}
