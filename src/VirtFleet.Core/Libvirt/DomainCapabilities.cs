using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>What `virsh domcapabilities` says one emulator + machine + domain type supports.</summary>
public sealed class DomainCapabilities
{
    public string? Emulator { get; init; }
    public string DomainType { get; init; } = "";
    public string? Machine { get; init; }
    public string? Arch { get; init; }
    public int? MaxVcpus { get; init; }
    /// <summary>Values of &lt;os&gt;&lt;enum name='firmware'&gt; (efi, bios); empty when not reported.</summary>
    public IReadOnlyList<string> Firmwares { get; init; } = [];
    /// <summary>Firmware images the host has (OVMF paths).</summary>
    public IReadOnlyList<string> Loaders { get; init; } = [];
    /// <summary>CPU modes marked supported='yes' (host-passthrough, host-model, maximum, custom).</summary>
    public IReadOnlyList<string> CpuModes { get; init; } = [];
    public IReadOnlyList<string> DiskBuses { get; init; } = [];
    public IReadOnlyList<string> VideoModels { get; init; } = [];
    /// <summary>Hyper-V enlightenments the hypervisor accepts, when it lists them.</summary>
    public IReadOnlyList<string> HyperVFeatures { get; init; } = [];

    public bool SupportsEfi => Firmwares.Contains("efi") || Loaders.Count > 0;

    public static DomainCapabilities Parse(string xml)
    {
        var root = ParseRoot(xml, "domainCapabilities");
        var os = root.Element("os");
        var devices = root.Element("devices");
        return new DomainCapabilities
        {
            Emulator = root.Text("path"),
            DomainType = root.Text("domain") ?? "",
            Machine = root.Text("machine"),
            Arch = root.Text("arch"),
            MaxVcpus = Int(root.Element("vcpu").Attr("max")),
            Firmwares = Values(os, "firmware"),
            Loaders = os?.Element("loader")?.Elements("value").Select(v => v.Value).ToList() ?? [],
            CpuModes = root.Element("cpu")?.Elements("mode").Where(m => m.Attr("supported") == "yes")
                .Select(m => m.Attr("name") ?? "").ToList() ?? [],
            DiskBuses = Values(devices?.Element("disk"), "bus"),
            VideoModels = Values(devices?.Element("video"), "modelType"),
            HyperVFeatures = Values(root.Element("features")?.Element("hyperv"), "features"),
        };
    }

    static List<string> Values(XElement? parent, string enumName) =>
        parent?.Elements("enum").FirstOrDefault(e => e.Attr("name") == enumName)?.Elements("value").Select(v => v.Value).ToList() ?? [];
}
