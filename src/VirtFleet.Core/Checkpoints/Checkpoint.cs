namespace VirtFleet.Checkpoints;

/// <summary>
/// A checkpoint of an instance: a libvirt internal snapshot kept inside the instance's own qcow2 overlay (its backing file,
/// the image version, is never written). A checkpoint of a running guest holds its memory too and restores it running.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The instance's name.</summary>
    public string Instance { get; init; } = "";
    /// <summary>The instance's VirtFleet id.</summary>
    public string? InstanceId { get; init; }
    public string Host { get; init; } = "";
    public string Name { get; init; } = "";
    public string? Description { get; init; }
    /// <summary>When it was taken, UTC.</summary>
    public DateTime? Created { get; init; }
    /// <summary>The guest's state when it was taken (running: memory included; shutoff: disk only).</summary>
    public string State { get; init; } = "";
    /// <summary>True when it holds the guest's memory (a restore brings the guest back running where it was).</summary>
    public bool Memory { get; init; }
    /// <summary>The size of the memory state saved in it, in bytes (0 for a disk-only checkpoint).</summary>
    public long MemoryBytes { get; init; }
    /// <summary>The instance's overlay file as allocated on the host, in bytes: its current data and every checkpoint's.</summary>
    public long DiskFileBytes { get; init; }
    /// <summary>The checkpoint the instance's disk currently follows from.</summary>
    public bool Current { get; init; }
    /// <summary>The checkpoint this one was taken after (null: the first).</summary>
    public string? Parent { get; init; }
    /// <summary>The inventory the instance was read through.</summary>
    public string? Inventory { get; set; }

    public double MemoryMiB => Math.Round(MemoryBytes / 1048576.0, 1);
    public double DiskFileMiB => Math.Round(DiskFileBytes / 1048576.0, 1);

    public override string ToString() => $"{Instance}/{Name}";
}
