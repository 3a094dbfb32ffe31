using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>What `virsh capabilities` says about a host: its CPU, memory, and the guests it can run.</summary>
public sealed class HostCapabilities
{
    public Guid? HostUuid { get; init; }
    public string Arch { get; init; } = "";
    public string? CpuModel { get; init; }
    public string? CpuVendor { get; init; }
    public IReadOnlySet<string> CpuFeatures { get; init; } = new HashSet<string>();
    /// <summary>Logical CPUs over all NUMA cells (0 when the topology is not reported).</summary>
    public int CpuCount { get; init; }
    /// <summary>Memory over all NUMA cells (0 when the topology is not reported).</summary>
    public long MemoryMiB { get; init; }
    public IReadOnlyList<GuestCapability> Guests { get; init; } = [];

    /// <summary>The host CPU lists Intel VT-x (vmx) or AMD-V (svm). KVM also needs a usable /dev/kvm.</summary>
    public bool HasHardwareVirtualization => CpuFeatures.Contains("vmx") || CpuFeatures.Contains("svm");

    public GuestCapability? FindGuest(string arch, string osType = "hvm") =>
        Guests.FirstOrDefault(g => g.Arch == arch && g.OsType == osType);

    public static HostCapabilities Parse(string xml)
    {
        var root = ParseRoot(xml, "capabilities");
        var host = root.Element("host");
        var cpu = host?.Element("cpu");
        var cells = host?.Element("topology")?.Element("cells")?.Elements("cell").ToList() ?? [];
        return new HostCapabilities
        {
            HostUuid = Guid.TryParse(host.Text("uuid"), out var uuid) ? uuid : null,
            Arch = cpu.Text("arch") ?? "",
            CpuModel = cpu.Text("model"),
            CpuVendor = cpu.Text("vendor"),
            // Named <feature name=...> on real hosts; bare elements such as <pae/> under <features> elsewhere.
            CpuFeatures = (cpu?.Elements("feature").Select(f => f.Attr("name") ?? "") ?? [])
                .Concat(cpu?.Element("features")?.Elements().Select(f => f.Name.LocalName) ?? [])
                .Where(n => n.Length > 0).ToHashSet(),
            CpuCount = cells.Sum(c => Int(c.Element("cpus").Attr("num")) ?? 0),
            MemoryMiB = cells.Sum(c => Mib(c.Element("memory")) ?? 0),
            Guests = root.Elements("guest").Select(GuestCapability.FromXml).ToList(),
        };
    }
}

/// <summary>A machine type; an alias (pc, q35) carries the versioned type it stands for as Canonical.</summary>
public sealed record GuestMachine(string Name, string? Canonical, int? MaxCpus);
