using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>&lt;features&gt;: ACPI/APIC/PAE and the Hyper-V enlightenments.</summary>
public sealed class DomainFeatures
{
    public SortedSet<PlatformFeature> Platform { get; set; } = [PlatformFeature.Acpi, PlatformFeature.Apic];
    public SortedSet<HyperVFeature> HyperV { get; set; } = [];
    public int SpinlockRetries { get; set; } = 8191;

    internal XElement? ToXml() =>
        Platform.Count == 0 && HyperV.Count == 0 ? null
            : new XElement("features",
                Platform.Select(f => new XElement(Lower(f))),
                HyperV.Count == 0 ? null : new XElement("hyperv", HyperV.Select(HyperVElement)));

    XElement HyperVElement(HyperVFeature feature) =>
        new(Lower(feature), new XAttribute("state", "on"),
            feature == HyperVFeature.Spinlocks ? new XAttribute("retries", Invariant(SpinlockRetries)) : null);
}
