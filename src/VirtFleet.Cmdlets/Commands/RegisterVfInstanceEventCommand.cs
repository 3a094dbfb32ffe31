using System.Management.Automation;
using VirtFleet.Events;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Forwards instance lifecycle events from the selected hosts into PowerShell's event system, as Register-ObjectEvent does for a .NET event.</para>
/// <para type="description">Subscribes to each host's lifecycle events (natively where the host's native path is up, else
/// `virsh event` over SSH) and returns once every host is subscribed. Each event becomes a PowerShell event with the
/// -SourceIdentifier: read them with Wait-Event and Get-Event, or run -Action for each ($EventArgs.Event is the
/// VirtFleet event; $EventArgs.Error a host's failure: its stream ended or could not start). Unregister-Event ends the
/// subscriptions.</para>
/// <example><code>Register-VfInstanceEvent -SourceIdentifier fleet; Start-VfInstance web1; Wait-Event fleet -Timeout 60</code></example>
/// <example><code>Register-VfInstanceEvent -Name db* -Kind Stopped, Crashed -Action { Write-Host "$($EventArgs.Event.Name) $($EventArgs.Event.Kind)" }</code></example>
/// <example><code>Unregister-Event fleet</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "VfInstanceEvent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PSEventJob))]
public sealed class RegisterVfInstanceEventCommand : VfFleetCmdlet
{
    /// <summary>Only events of instances with these names or ids (wildcards allowed). Default: every domain on the hosts.</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only events of these kinds. Default: all.</summary>
    [Parameter] public DomainEventKind[]? Kind { get; set; }

    /// <summary>The name of the subscription (for Wait-Event, Get-Event, Unregister-Event). Default: a new GUID.</summary>
    [Parameter(Position = 0)] public string? SourceIdentifier { get; set; }

    /// <summary>A script block run for each event ($Event, $EventArgs, $Sender as with Register-ObjectEvent); the job running it is returned.</summary>
    [Parameter(Position = 1)] public ScriptBlock? Action { get; set; }

    /// <summary>Extra data handed to each event ($Event.MessageData).</summary>
    [Parameter] public PSObject? MessageData { get; set; }

    /// <summary>Hide the subscription from Get-EventSubscriber and its events from Get-Event (as Register-ObjectEvent -SupportEvent).</summary>
    [Parameter] public SwitchParameter SupportEvent { get; set; }

    /// <summary>Forward the events to the session that runs this remotely (as Register-ObjectEvent -Forward).</summary>
    [Parameter] public SwitchParameter Forward { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var request = new WatchEventsRequest { Hosts = SelectHosts(inv), Names = Name ?? [], Kinds = Kind ?? [] };
        if (!ShouldProcess(string.Join(", ", request.Hosts.Select(h => h.Name)), "Subscribe to lifecycle events")) return;
        var watcher = new FleetEventWatcher();
        var subscriber = Events.SubscribeEvent(watcher, nameof(FleetEventWatcher.Received), SourceIdentifier ?? Guid.NewGuid().ToString(),
            MessageData, Action, SupportEvent, Forward);
        subscriber.Unsubscribed += (_, _) => watcher.Dispose();
        watcher.Start(Scope(inv), request);
        // Returns once every host is subscribed (or failed: that host's error arrives as an event), so what the caller does
        // next is seen.
        RunAsync(ct => watcher.Ready.WaitAsync(ct));
        foreach (var (host, source) in watcher.Subscribed) WriteVerbose($"{host}: subscribed to lifecycle events ({source})");
        if (Action is not null) WriteObject(subscriber.Action);
    }
}
