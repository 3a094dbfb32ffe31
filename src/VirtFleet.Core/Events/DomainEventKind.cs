namespace VirtFleet.Events;

/// <summary>A libvirt domain lifecycle event's kind (virDomainEventType), in VirtFleet's words.</summary>
public enum DomainEventKind
{
    Defined,
    Undefined,
    Started,
    Suspended,
    Resumed,
    Stopped,
    Shutdown,
    PMSuspended,
    Crashed,
    Unknown,
}
