using System.Management.Automation;
using VirtFleet.Events;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Streams instance lifecycle events (started, suspended, resumed, stopped, migrated, defined...) from the selected hosts as they happen.</para>
/// <para type="description">Subscribes to each host's libvirt lifecycle events: natively through libvirt.so where the host's
/// native path is up, else through `virsh event` on the host's SSH connection. Events are written as they come until
/// Ctrl+C, -Timeout or -MaxEvents. A host that cannot be subscribed to, or whose stream drops, is one error; the other
/// hosts go on. Nothing is polled.</para>
/// <example><code>Get-VfEvent</code></example>
/// <example><code>Get-VfEvent -Host hv1, hv2 -Name web* -Kind Started, Stopped -Timeout 600</code></example>
/// <example><code>Get-VfEvent -Name db1 -MaxEvents 1   # the next event of db1</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfEvent")]
[OutputType(typeof(DomainEvent))]
public sealed class GetVfEventCommand : VfFleetCmdlet
{
    /// <summary>Only events of instances with these names or ids (wildcards allowed). Default: every domain on the hosts.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only events of these kinds (Defined, Undefined, Started, Suspended, Resumed, Stopped, Shutdown, PMSuspended, Crashed). Default: all.</summary>
    [Parameter] public DomainEventKind[]? Kind { get; set; }

    /// <summary>Seconds to stream before ending (1-604800). Default: until Ctrl+C or -MaxEvents.</summary>
    [Parameter] [ValidateRange(1, 604800)] public int Timeout { get; set; }

    /// <summary>End after this many events (1-1000000). Default: no limit.</summary>
    [Parameter] [ValidateRange(1, 1_000_000)] public int MaxEvents { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var request = new WatchEventsRequest
        {
            Hosts = SelectHosts(inv), Names = Name ?? [], Kinds = Kind ?? [], MaxEvents = MaxEvents,
            Timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : null,
        };
        var scope = Scope(inv);
        RunAsync(ct => WatchEvents.RunAsync(scope, request, PostObject, ct,
            (host, source) => PostVerbose($"{host}: subscribed to lifecycle events ({source})")));
    }
}
