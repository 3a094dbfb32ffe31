using VirtFleet.Images;
using VirtFleet.Libvirt;
using VirtFleet.Model;

namespace VirtFleet.Instances;

/// <summary>A host as New-VfInstance sees it before placing: capacity, capabilities, image, domain names.</summary>
public sealed class HostSurvey
{
    public required HostFacts Facts { get; init; }
    public required HostCapabilities Capabilities { get; init; }
    public ImageManifest? Image { get; init; }
    public IReadOnlyList<string> DomainNames { get; init; } = [];
    public HostCapacity Capacity => new(Facts.Name, Facts.MemoryFreeMiB, Facts.CpuCount, Facts.VcpusCommitted, Facts.StoreFreeGiB, Facts.Instances);
}
