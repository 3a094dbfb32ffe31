namespace VirtFleet.Libvirt;

/// <summary>
/// The defaults pass: turns an instance request, the image's properties, the host's capabilities and
/// the OS profile into a Domain. Pure: the same inputs always give the same domain (and XML).
/// Precedence: request, then image properties, then the profile.
/// </summary>
public static class DomainBuilder
{
    /// <summary>
    /// Enlightenments QEMU can only provide with KVM: under TCG, QEMU 7.2 refuses to start with vpindex
    /// ("kernel doesn't allow setting HyperV VP_INDEX"), and synic, stimer, tlbflush and ipi build on vpindex.
    /// </summary>
    public static readonly IReadOnlySet<HyperVFeature> KvmOnlyHyperV = new HashSet<HyperVFeature>
    {
        HyperVFeature.Vpindex, HyperVFeature.Synic, HyperVFeature.Stimer, HyperVFeature.Tlbflush,
        HyperVFeature.Ipi, HyperVFeature.Reenlightenment,
    };

    /// <summary>
    /// kvm when the host CPU lists vmx or svm, /dev/kvm is usable (the caller checks it on the host) and
    /// libvirt offers kvm for the arch; otherwise qemu, i.e. TCG emulation.
    /// </summary>
    public static DomainType ChooseDomainType(HostCapabilities host, bool kvmDeviceUsable, string arch) =>
        kvmDeviceUsable && host.HasHardwareVirtualization
            && (host.FindGuest(arch)?.SupportsDomainType(DomainType.Kvm) ?? host.Arch == arch)
            ? DomainType.Kvm : DomainType.Qemu;

    public static Domain Build(InstanceRequest request, ImageProperties image, OsProfile profile, HostCapabilities host, bool kvmDeviceUsable)
    {
        Names.ValidateInstanceName(request.Name);
        CheckArch(host, image.Arch);
        CheckSize(request, image, profile);
        var type = ChooseDomainType(host, kvmDeviceUsable, image.Arch);

        var virtio = image.VirtioDrivers ?? profile.VirtioDrivers;
        var diskBus = image.DiskBus ?? (virtio ? DiskBus.Virtio : profile.DiskBus);
        var nicModel = image.NicModel ?? (virtio ? NicModel.Virtio : profile.NicModel);

        var disks = request.Disks
            .Select(d => new DomainDisk { Path = Names.ValidateHostPath(d.Path), Format = d.Format, Bus = diskBus })
            .ToList();
        if (request.SeedPath is not null)
            disks.Add(new DomainDisk
            {
                Device = DiskDevice.Cdrom, Path = Names.ValidateHostPath(request.SeedPath), Format = "raw",
                Bus = profile.SeedBus, ReadOnly = true,
            });

        return new Domain
        {
            Type = type,
            Name = request.Name,
            Uuid = request.Uuid,
            Title = request.Title,
            Description = request.Description,
            Metadata = Metadata(request, image, profile),
            MemoryMiB = request.MemoryMiB,
            Vcpus = request.Vcpus,
            Os = new DomainOs
            {
                Arch = image.Arch,
                // q35 has no IDE controller: an IDE disk needs the i440fx machine.
                Machine = disks.Any(d => d.Bus == DiskBus.Ide) && IsQ35(profile.Machine) ? "pc" : profile.Machine,
                Firmware = image.Firmware ?? profile.Firmware,
                Kernel = image.Kernel is null ? null : Names.ValidateHostPath(image.Kernel),
                Initrd = image.Initrd is null ? null : Names.ValidateHostPath(image.Initrd),
                Cmdline = image.Cmdline,
            },
            Features = new DomainFeatures
            {
                Platform = [.. profile.Features],
                HyperV = [.. profile.HypervFeatures.Where(f => type == DomainType.Kvm || !KvmOnlyHyperV.Contains(f))],
                SpinlockRetries = profile.SpinlockRetries,
            },
            // host-passthrough and host-model need KVM; TCG keeps QEMU's default CPU.
            CpuMode = type == DomainType.Kvm ? profile.CpuMode : null,
            Clock = new DomainClock
            {
                Offset = profile.Clock,
                Timers = profile.Timers.Select(t => new ClockTimer { Name = t.Name, TickPolicy = t.TickPolicy, Present = t.Present }).ToList(),
            },
            Devices = new DomainDevices
            {
                Disks = disks,
                Controllers = Controllers(profile, disks),
                Interfaces = request.Nics.Select((nic, i) => Interface(request.Uuid, nic, i, nicModel)).ToList(),
                SerialConsole = profile.SerialConsole,
                SerialLog = profile.SerialConsole && request.ConsoleLog is not null ? Names.ValidateHostPath(request.ConsoleLog) : null,
                UsbTablet = profile.Tablet,
                Graphics = profile.Graphics == GraphicsType.Vnc ? new DomainGraphics { Listen = profile.VncListen } : null,
                Video = profile.Video == "none" ? null : profile.Video,
                Memballoon = profile.Memballoon,
                Rng = profile.Rng,
            },
        };
    }

    static void CheckArch(HostCapabilities host, string arch)
    {
        if (host.Guests.Count > 0 && host.FindGuest(arch) is null)
            throw new VfException("UnsupportedArchitecture", FailureKind.ResourceUnavailable,
                $"The host cannot run {arch} guests (it offers {string.Join(", ", host.Guests.Select(g => g.Arch).Distinct())}).", arch);
    }

    static void CheckSize(InstanceRequest request, ImageProperties image, OsProfile profile)
    {
        if (request.Vcpus < 1)
            throw new VfException("InvalidVcpuCount", FailureKind.InvalidArgument, $"An instance needs at least one vCPU, not {request.Vcpus}.", request.Name);
        var minimum = Math.Max(Math.Max(profile.MinMemoryMiB, image.MinMemoryMiB ?? 0), 1);
        if (request.MemoryMiB < minimum)
            throw new VfException("MemoryBelowMinimum", FailureKind.InvalidArgument,
                $"{request.Name} asks for {request.MemoryMiB} MiB; {profile} with this image needs at least {minimum} MiB.", request.Name);
    }

    static List<DomainController> Controllers(OsProfile profile, List<DomainDisk> disks)
    {
        var controllers = new List<DomainController> { new("usb", profile.UsbController) };
        if (disks.Any(d => d.Bus == DiskBus.Scsi))
            controllers.Add(new("scsi", "virtio-scsi"));
        return controllers;
    }

    static DomainInterface Interface(Guid uuid, NicRequest nic, int index, NicModel defaultModel) => new()
    {
        Type = nic.Type,
        Source = nic.Type == InterfaceType.Bridge ? Names.ValidateBridgeName(nic.Source) : Names.ValidateNetworkName(nic.Source),
        Mac = nic.Mac is null ? MacAddress.Derive(uuid, index) : MacAddress.Normalize(nic.Mac),
        Model = nic.Model ?? defaultModel,
    };

    /// <summary>The request's metadata plus what only the builder knows: the OS and the disks VirtFleet owns.</summary>
    static VfMetadata Metadata(InstanceRequest request, ImageProperties image, OsProfile profile)
    {
        var metadata = request.Metadata.Clone();
        metadata.OsFamily = profile.Family;
        metadata.OsVariant = image.OsVariant ?? profile.Variant;
        metadata.Disks = [.. request.Disks.Where(d => d.Owned).Select(d => d.Path)];
        if (request.SeedPath is not null) metadata.Disks.Add(request.SeedPath);
        return metadata;
    }

    static bool IsQ35(string machine) => machine == "q35" || machine.StartsWith("pc-q35", StringComparison.Ordinal);
}
