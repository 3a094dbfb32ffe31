using VirtFleet.Libvirt;
using VirtFleet.Model;

namespace VirtFleet.ImageBuilds;

/// <summary>What New-VfImageBuild asks for.</summary>
public sealed class ImageBuildRequest
{
    /// <summary>The build's name (its domain's and, by default, the image's).</summary>
    public required string Name { get; init; }
    /// <summary>The OS installation ISO (a full local path): the first CD-ROM.</summary>
    public required string Iso { get; init; }
    /// <summary>A driver ISO (virtio-win): the second CD-ROM; the image is then recorded as carrying virtio drivers.</summary>
    public string? DriverIso { get; init; }
    /// <summary>An answer file (autounattend.xml, a preseed...): put on a small CD-ROM of its own after the others, under its own file name.</summary>
    public string? Unattended { get; init; }
    /// <summary>Generate the Windows answer file instead (OsFamily windows, a supported OsVariant; not with <see cref="Unattended"/>).</summary>
    public WindowsSetup? WindowsSetup { get; init; }
    public required string OsFamily { get; init; }
    public string? OsVariant { get; init; }
    public required int DiskGiB { get; init; }
    public int MemoryMiB { get; init; }
    public int Vcpus { get; init; } = 1;
    /// <summary>bios or uefi; null: the OS profile's.</summary>
    public string? Firmware { get; init; }
    /// <summary>The root disk's bus; null: virtio when the OS has virtio drivers or a driver ISO is given, else the profile's.</summary>
    public DiskBus? DiskBus { get; init; }
    /// <summary>The hosts to choose from (the first that answers and has room gets the build).</summary>
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];
    public required OsProfileCatalog Profiles { get; init; }
}
