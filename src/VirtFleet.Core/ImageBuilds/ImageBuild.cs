using VirtFleet.Model;

namespace VirtFleet.ImageBuilds;

/// <summary>An image build in progress (New-VfImageBuild, Get-VfImageBuild): its domain on its host and what it will make.</summary>
public sealed class ImageBuild
{
    public string Name { get; init; } = "";
    public string Host { get; init; } = "";
    public InstanceState State { get; init; }
    public DateTime Started { get; init; }
    public string OsFamily { get; init; } = "";
    public string? OsVariant { get; init; }
    public string Firmware { get; init; } = "";
    public string DiskBus { get; init; } = "";
    public bool VirtioDrivers { get; init; }
    /// <summary>The root disk's virtual size.</summary>
    public int DiskGiB { get; init; }
    /// <summary>What the root disk holds on the host so far (its file's size), MiB; null when it could not be read.</summary>
    public long? DiskUsedMiB { get; init; }
    public string Iso { get; init; } = "";
    public string? DriverIso { get; init; }
    /// <summary>The build's block devices in the domain's order: root disk, OS CD-ROM, driver CD-ROM.</summary>
    public IReadOnlyList<string> BlockDevices { get; init; } = [];
    public string? InstanceId { get; init; }
    /// <summary>The build's domain as an instance (for its removal).</summary>
    public Instance? Instance { get; init; }
    /// <summary>The build block as read from the domain.</summary>
    public BuildMetadata? Metadata { get; init; }
    /// <summary>The inventory file the build was read through: cmdlets it is piped to use it when not given -Inventory.</summary>
    public string? Inventory { get; set; }

    public override string ToString() => Name;
}
