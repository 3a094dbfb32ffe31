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
