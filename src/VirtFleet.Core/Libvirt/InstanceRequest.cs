namespace VirtFleet.Libvirt;

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
    /// <summary>Host path of the serial console's log (when the profile has a serial console); VirtFleet owns it.</summary>
    public string? ConsoleLog { get; set; }
    public string? Title { get; set; }
    public string? Description { get; set; }
    /// <summary>Copied into the domain; the builder fills in the OS family/variant and the owned disks.</summary>
    public VfMetadata Metadata { get; set; } = new();
}
