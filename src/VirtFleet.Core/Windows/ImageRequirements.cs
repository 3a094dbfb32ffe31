using VirtFleet.Images;

namespace VirtFleet.Windows;

/// <summary>One requirement of a cloud image and whether the image's properties declare it.</summary>
public sealed record ImageRequirementCheck(string Image, string Requirement, bool Declared, string Why);

/// <summary>
/// What a Windows image needs to run well as a cloud instance (the seeds' list: drivers for the paravirtual devices, remote
/// access, ping, first-boot setup, a generalized system), checked against what its manifest declares: virtio_drivers, and the
/// features an image build records (rdp, icmp, cloudbase-init, sysprep). Nothing is read from the disk itself.
/// </summary>
public static class ImageRequirements
{
    public static readonly IReadOnlyList<(string Requirement, string Why)> Windows =
    [
        ("virtio-drivers", "virtio disk and NIC (faster than SATA and e1000); without them instances get SATA and e1000"),
        ("rdp", "Remote Desktop on and allowed through the firewall: the way in to a new instance"),
        ("icmp", "ICMP echo allowed, so the instance answers ping and health checks"),
        ("cloudbase-init", "reads the config drive at first boot: hostname, user data and VirtFleet's password script"),
        ("sysprep", "generalized (sysprep /generalize /oobe): each instance gets its own SID and runs its first boot"),
    ];

    /// <summary>The checks for a Windows image; empty for other OS families (their needs are the guest's cloud-init).</summary>
    public static IReadOnlyList<ImageRequirementCheck> Check(ImageManifest image)
    {
        if (!string.Equals(image.OsFamily, "windows", StringComparison.OrdinalIgnoreCase)) return [];
        var features = new HashSet<string>(image.Features ?? [], StringComparer.OrdinalIgnoreCase);
        return Windows.Select(r => new ImageRequirementCheck(image.Name, r.Requirement,
            r.Requirement == "virtio-drivers" ? image.VirtioDrivers == true : features.Contains(r.Requirement), r.Why)).ToList();
    }
}
