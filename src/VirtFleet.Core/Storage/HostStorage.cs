namespace VirtFleet.Storage;

/// <summary>
/// VirtFleet's store on one host (Get-VfStorage): its filesystem's size, use and free space, and what the store holds by
/// kind (images, overlays, seeds, checkpoints inside overlays, staging folders), with its orphans (files VirtFleet made that
/// nothing uses) and foreign files (files VirtFleet did not make).
/// </summary>
public sealed class HostStorage
{
    public string Host { get; init; } = "";
    /// <summary>The store's folder on the host.</summary>
    public string Store { get; init; } = HostPaths.Store;
    /// <summary>The filesystem holding the store: size, used and free, in bytes.</summary>
    public long SizeBytes { get; init; }
    public long UsedBytes { get; init; }
    public long FreeBytes { get; init; }
    /// <summary>Bytes allocated by the store's files, all kinds.</summary>
    public long StoreBytes => Files.Sum(f => f.AllocatedBytes);
    public long ImageBytes => Bytes(StoreFileKind.Image);
    public long OverlayBytes => Bytes(StoreFileKind.Overlay);
    public long SeedBytes => Bytes(StoreFileKind.Seed);
    public long StagingBytes => Bytes(StoreFileKind.Staging);
    /// <summary>Checkpoints held inside overlays (their disk data is part of <see cref="OverlayBytes"/>), and the guest memory they saved.</summary>
    public int Checkpoints => Files.Sum(f => f.Checkpoints);
    public long CheckpointMemoryBytes => Files.Sum(f => f.CheckpointMemoryBytes);
    public IReadOnlyList<StoreFile> Orphans => Files.Where(f => f.State == StoreFileState.Orphan).ToList();
    public IReadOnlyList<StoreFile> Foreign => Files.Where(f => f.State == StoreFileState.Foreign).ToList();
    public long OrphanBytes => Orphans.Sum(f => f.AllocatedBytes);
    public long ForeignBytes => Foreign.Sum(f => f.AllocatedBytes);
    /// <summary>Every file of the store.</summary>
    public IReadOnlyList<StoreFile> Files { get; init; } = [];
    public string? Inventory { get; set; }

    public double SizeGiB => Gib(SizeBytes);
    public double FreeGiB => Gib(FreeBytes);
    public double StoreGiB => Gib(StoreBytes);

    private long Bytes(StoreFileKind k) => Files.Where(f => f.Kind == k).Sum(f => f.AllocatedBytes);
    private static double Gib(long b) => Math.Round(b / 1073741824.0, 2);

    public override string ToString() => Host;
}
