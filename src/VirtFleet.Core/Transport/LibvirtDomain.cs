namespace VirtFleet.Transport;

/// <summary>One domain as a host's libvirt reported it: no libvirt type, the same from either path.</summary>
/// <param name="State">The state in virsh's words (running, paused, shut off, ...): InstanceReader.ParseState reads it.</param>
/// <param name="Xml">The domain XML as <c>virsh dumpxml</c> prints it (live while it runs).</param>
public sealed record LibvirtDomain(string Name, Guid Uuid, string State, string Xml);
