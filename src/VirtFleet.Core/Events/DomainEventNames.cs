using VirtFleet.Model;

namespace VirtFleet.Events;

/// <summary>
/// libvirt's lifecycle event codes (virDomainEventType and its per-type detail enums) and virsh's words for them, both
/// mapped to one set of names, so an event reads the same whichever path delivered it.
/// </summary>
public static class DomainEventNames
{
    // Detail names per kind, in libvirt's enum order (VIR_DOMAIN_EVENT_<KIND>_<DETAIL> = index).
    private static readonly string[][] Details =
    [
        ["Added", "Updated", "Renamed", "FromSnapshot"],                                                          // Defined
        ["Removed", "Renamed"],                                                                                   // Undefined
        ["Booted", "Migrated", "Restored", "FromSnapshot", "Wakeup"],                                             // Started
        ["Paused", "Migrated", "IOError", "Watchdog", "Restored", "FromSnapshot", "APIError", "PostCopy", "PostCopyFailed"], // Suspended
        ["Unpaused", "Migrated", "FromSnapshot", "PostCopy", "PostCopyFailed"],                                   // Resumed
        ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "FromSnapshot"],                      // Stopped
        ["Finished", "Guest", "Host"],                                                                            // Shutdown
        ["Memory", "Disk"],                                                                                       // PMSuspended
        ["Panicked", "CrashLoaded"],                                                                              // Crashed
    ];

    // virsh's words for the same details (virsh-domain-event.c, LC_ALL=C), same order.
    private static readonly string[][] VirshDetails =
    [
        ["Added", "Updated", "Renamed", "Snapshot"],
        ["Removed", "Renamed"],
        ["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
        ["Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error", "Post-copy", "Post-copy Error"],
        ["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"],
        ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"],
        ["Finished", "Finished after guest request", "Finished after host request"],
        ["Memory", "Disk"],
        ["Panicked", "Crashloaded"],
    ];

    // virDomainEventType order; virsh prints the same words.
    private static readonly DomainEventKind[] Kinds =
    [
        DomainEventKind.Defined, DomainEventKind.Undefined, DomainEventKind.Started, DomainEventKind.Suspended, DomainEventKind.Resumed,
        DomainEventKind.Stopped, DomainEventKind.Shutdown, DomainEventKind.PMSuspended, DomainEventKind.Crashed,
    ];

    /// <summary>A native event (virDomainEventType, detail) in VirtFleet's names; unknown codes read as Unknown / the number.</summary>
    public static (DomainEventKind Kind, string Detail) FromNative(int eventType, int detail)
    {
        if (eventType < 0 || eventType >= Kinds.Length) return (DomainEventKind.Unknown, $"{eventType}/{detail}");
        var names = Details[eventType];
        return (Kinds[eventType], detail >= 0 && detail < names.Length ? names[detail] : detail.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>virsh's words (e.g. "Stopped", "Destroyed") in VirtFleet's names; null when the kind is not one virsh prints.</summary>
    public static (DomainEventKind Kind, string Detail)? FromVirsh(string kind, string detail)
    {
        var k = Array.FindIndex(Kinds, x => x.ToString() == kind);
        if (k < 0) return null;
        var d = Array.IndexOf(VirshDetails[k], detail);
        return (Kinds[k], d >= 0 ? Details[k][d] : detail);
    }

    /// <summary>The state a domain is in after an event of this kind (null when the event says nothing about it).</summary>
    public static InstanceState? ResultingState(DomainEventKind kind, string detail) => kind switch
    {
        DomainEventKind.Started or DomainEventKind.Resumed => InstanceState.Running,
        DomainEventKind.Suspended => InstanceState.Paused,
        DomainEventKind.Stopped => InstanceState.Stopped,
        // The guest has shut down (or was asked to); the Stopped event follows once its process is gone.
        DomainEventKind.Shutdown => InstanceState.ShuttingDown,
        DomainEventKind.PMSuspended => InstanceState.Suspended,
        DomainEventKind.Crashed => InstanceState.Crashed,
        _ => null,
    };
}
