namespace VirtFleet.Storage;

/// <summary>What a file in VirtFleet's store on a host is (storage.sh decides).</summary>
public enum StoreFileKind { Image, Staging, Overlay, Seed, Instance, Network, Foreign }

/// <summary>Whether anything still uses a file: Used, Orphan (VirtFleet made it and no domain or overlay uses it: Remove-VfOrphan removes it), or Foreign (VirtFleet did not make it: never removed).</summary>
public enum StoreFileState { Used, Orphan, Foreign }

/// <summary>One file in VirtFleet's store on a host.</summary>
public sealed class StoreFile
{
    public string Host { get; init; } = "";
    public string Path { get; init; } = "";
    public StoreFileKind Kind { get; init; }
    public StoreFileState State { get; init; }
    /// <summary>Bytes allocated on the host's disk (a sparse qcow2 takes less than its size).</summary>
    public long AllocatedBytes { get; init; }
    /// <summary>The file's size in bytes.</summary>
    public long SizeBytes { get; init; }
    /// <summary>For an overlay: how many checkpoints it holds, and the guest memory they saved (bytes).</summary>
    public int Checkpoints { get; init; }
    public long CheckpointMemoryBytes { get; init; }
    public string? Inventory { get; set; }

    public double AllocatedMiB => Math.Round(AllocatedBytes / 1048576.0, 1);

    public override string ToString() => $"{Host}:{Path}";
}
