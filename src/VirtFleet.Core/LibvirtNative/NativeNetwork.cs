namespace VirtFleet.LibvirtNative;

/// <summary>A libvirt network as read through libvirt's C API.</summary>
public sealed record NativeNetwork(string Name, Guid Uuid, bool Active);
