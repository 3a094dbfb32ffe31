namespace VirtFleet.Libvirt;

/// <summary>
/// The domain defaults for one OS family/variant, resolved from templates/os-profiles.yml (variant keys
/// over family keys, a user file over the module's). Property names map to snake_case YAML keys.
/// </summary>
public sealed class OsProfile
{
    public string Family { get; internal set; } = "";
    /// <summary>The variant whose keys were applied; null when only the family defaults were.</summary>
    public string? Variant { get; internal set; }

    /// <summary>Machine type or alias: q35, or pc for guests that need IDE or predate AHCI-era drivers.</summary>
    public string Machine { get; set; } = "";
    public Firmware Firmware { get; set; }
    /// <summary>CPU mode for kvm guests (host-model, host-passthrough); TCG guests keep the emulator default.</summary>
    public string CpuMode { get; set; } = "";
    public List<PlatformFeature> Features { get; set; } = [];
    public List<HyperVFeature> HypervFeatures { get; set; } = [];
    public int SpinlockRetries { get; set; }
    public ClockOffset Clock { get; set; }
    public List<ClockTimer> Timers { get; set; } = [];
    /// <summary>The OS ships virtio drivers; an image's own virtio_drivers property wins.</summary>
    public bool VirtioDrivers { get; set; }
    /// <summary>Disk bus when there are no virtio drivers.</summary>
    public DiskBus DiskBus { get; set; }
    /// <summary>NIC model when there are no virtio drivers.</summary>
    public NicModel NicModel { get; set; }
    /// <summary>Bus of the read-only NoCloud seed cdrom.</summary>
    public DiskBus SeedBus { get; set; }
    /// <summary>USB controller model (qemu-xhci, piix3-uhci, none).</summary>
    public string UsbController { get; set; } = "";
    public bool Tablet { get; set; }
    public GraphicsType Graphics { get; set; }
    public string VncListen { get; set; } = "";
    /// <summary>vga, qxl, virtio or none.</summary>
    public string Video { get; set; } = "";
    public bool SerialConsole { get; set; }
    public bool Rng { get; set; }
    public bool Memballoon { get; set; }
    public int MinMemoryMiB { get; set; }
    /// <summary>Whether the seed carries the SSH public key for the guest to install (false on Windows: metadata only).</summary>
    public bool InjectSshKey { get; set; }

    public override string ToString() => Variant is null ? Family : $"{Family}/{Variant}";
}
