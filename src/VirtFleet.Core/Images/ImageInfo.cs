namespace VirtFleet.Images;

/// <summary>An image as found on the fleet: its manifest and the hosts that hold it.</summary>
public sealed class ImageInfo
{
    public string Name { get; init; } = "";
    public string OsFamily { get; init; } = "";
    public string? OsVariant { get; init; }
    public bool Kernel { get; init; }
    public long VirtualSizeMiB { get; init; }
    public List<string> Hosts { get; init; } = [];
    public ImageManifest Manifest { get; init; } = new();
}
