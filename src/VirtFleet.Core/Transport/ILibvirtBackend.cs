namespace VirtFleet.Transport;

/// <summary>
/// What operations ask of one host's libvirt, whichever path reaches it: <see cref="VirshBackend"/> (virsh over the host's
/// <see cref="IRemoteHost"/>) or <see cref="NativeBackend"/> (libvirt.so through a tunnel or a local socket). Get one from
/// <see cref="IRemoteHost.Libvirt"/> (never waits) or <see cref="IRemoteHost.OpenLibvirtAsync"/> (brings the chosen path up).
/// Errors are VfExceptions naming the host; a broken native path throws with <see cref="FailureKind.ConnectionError"/> and the
/// host falls back to virsh on the next call.
/// </summary>
public interface ILibvirtBackend
{
    /// <summary>The host's name (as the inventory has it).</summary>
    string HostName { get; }

    LibvirtPath Path { get; }

    /// <summary>Every domain, defined or transient, with its state and XML; a domain removed meanwhile is left out.</summary>
    Task<IReadOnlyList<LibvirtDomain>> ListDomainsAsync(CancellationToken ct);

    /// <summary>One domain by name, or null when the host has none of that name.</summary>
    Task<LibvirtDomain?> GetDomainAsync(string name, CancellationToken ct);

    /// <summary>
    /// A lifecycle action on a domain by name. No host lock and no ownership check: operations that need those
    /// (InstanceActions) go through their host scripts.
    /// </summary>
    Task ActAsync(string name, LibvirtAction action, CancellationToken ct);
}
