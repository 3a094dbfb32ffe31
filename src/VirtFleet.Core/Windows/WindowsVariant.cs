namespace VirtFleet.Windows;

/// <summary>
/// What an unattended install needs to know of one Windows version: the folder name its drivers have on the virtio-win
/// CD (viostor\2k19\amd64, NetKVM\2k19\amd64, ...) and the index of the install image to pick in its install.wim
/// (the Standard edition with a desktop where the media has several).
/// </summary>
public sealed record WindowsVariant(string Name, string DriverFolder, int ImageIndex)
{
    public static readonly IReadOnlyList<WindowsVariant> Supported =
    [
        new("win2k8r2", "2k8R2", 1),
        new("win2k12r2", "2k12R2", 2),
        new("win2k16", "2k16", 2),
        new("win2k19", "2k19", 2),
        new("win2k22", "2k22", 2),
    ];

    public static WindowsVariant Find(string name) =>
        Supported.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new VfException("WindowsVariantUnsupported", FailureKind.InvalidArgument,
            $"No answer file for '{name}': supported variants are {string.Join(", ", Supported.Select(v => v.Name))}.", name);
}
