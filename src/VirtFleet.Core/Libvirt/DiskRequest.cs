namespace VirtFleet.Libvirt;

/// <summary>A disk file; Owned marks files VirtFleet created (and so may delete with the instance).</summary>
public sealed record DiskRequest(string Path, string Format = "qcow2", bool Owned = true);
