namespace VirtFleet.Transport;

/// <summary>A lifecycle action on one domain, as <see cref="ILibvirtBackend.ActAsync"/> performs it.</summary>
public enum LibvirtAction
{
    /// <summary>Boot a defined, shut off domain (virsh start).</summary>
    Start,
    /// <summary>Ask the guest to shut down (ACPI); returns before it is off.</summary>
    Shutdown,
    /// <summary>Power off at once.</summary>
    Destroy,
    /// <summary>Pause the vCPUs.</summary>
    Suspend,
    /// <summary>Continue a paused domain.</summary>
    Resume,
}
