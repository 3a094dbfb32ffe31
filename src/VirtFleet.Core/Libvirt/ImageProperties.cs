namespace VirtFleet.Libvirt;

/// <summary>
/// What an image says about the guest inside it. Every property set here overrides the OS profile;
/// null means "use the profile". Kernel/Initrd are host paths (direct kernel boot when Kernel is set).
/// </summary>
public sealed class ImageProperties
{
    public string OsFamily { get; set; } = "linux";
    public string? OsVariant { get; set; }
    public string Arch { get; set; } = "x86_64";
    public Firmware? Firmware { get; set; }
    public DiskBus? DiskBus { get; set; }
    public NicModel? NicModel { get; set; }
    public int? MinMemoryMiB { get; set; }
    /// <summary>The image carries virtio drivers (virtio-win on Windows); then disk and NIC are virtio.</summary>
    public bool? VirtioDrivers { get; set; }
    public string? Kernel { get; set; }
    public string? Initrd { get; set; }
    public string? Cmdline { get; set; }
}

/// <summary>One instance to define: identity, size, the disks and seed VirtFleet made, its NICs, its metadata.</summary>
public sealed class InstanceRequest
{
    public string Name { get; set; } = "";
    public Guid Uuid { get; set; }
    public int Vcpus { get; set; } = 1;
    public int MemoryMiB { get; set; } = 512;
    /// <summary>Disks in boot order; the first is the root disk.</summary>
    public List<DiskRequest> Disks { get; set; } = [];
    /// <summary>Host path of the NoCloud seed ISO (cidata), attached read-only; VirtFleet owns it.</summary>
    public string? SeedPath { get; set; }
    public List<NicRequest> Nics { get; set; } = [];
    public string? Title { get; set; }
    public string? Description { get; set; }
    /// <summary>Copied into the domain; the builder fills in the OS family/variant and the owned disks.</summary>
    public VfMetadata Metadata { get; set; } = new();
}

/// <summary>A disk file; Owned marks files VirtFleet created (and so may delete with the instance).</summary>
public sealed record DiskRequest(string Path, string Format = "qcow2", bool Owned = true);

/// <summary>A NIC on a libvirt network or host bridge. A null Mac is derived from the instance UUID.</summary>
public sealed record NicRequest(InterfaceType Type, string Source, string? Mac = null, NicModel? Model = null)
{
    public static NicRequest Network(string name, string? mac = null) => new(InterfaceType.Network, name, mac);
    public static NicRequest Bridge(string name, string? mac = null) => new(InterfaceType.Bridge, name, mac);
}
