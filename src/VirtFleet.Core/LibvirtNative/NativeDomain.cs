using VirtFleet.Model;

namespace VirtFleet.LibvirtNative;

/// <summary>A domain as read through libvirt's C API at one moment: VirtFleet's own record, no libvirt type.</summary>
/// <param name="State">The state as VirtFleet names it.</param>
/// <param name="LibvirtState">The state in virsh's words (running, paused, shut off, ...), for comparison and display.</param>
/// <param name="MemoryKiB">Current memory (virDomainGetInfo).</param>
/// <param name="MaxMemoryKiB">Maximum memory.</param>
/// <param name="Xml">The domain XML (virDomainGetXMLDesc), when it was asked for.</param>
public sealed record NativeDomain(
    string Name, Guid Uuid, InstanceState State, string LibvirtState, int StateReason,
    ulong MemoryKiB, ulong MaxMemoryKiB, int Vcpus, string? Xml);
