namespace VirtFleet.LibvirtNative;

/// <summary>The lifecycle actions the native path performs on a domain by name.</summary>
public enum NativeDomainAction
{
    /// <summary>virDomainCreate: boot a defined, shut off domain.</summary>
    Start,
    /// <summary>virDomainShutdown: ask the guest to shut down (ACPI); returns before it is off.</summary>
    Shutdown,
    /// <summary>virDomainDestroy: power off at once.</summary>
    Destroy,
    /// <summary>virDomainSuspend: pause the vCPUs.</summary>
    Suspend,
    /// <summary>virDomainResume: continue a paused domain.</summary>
    Resume,
}
