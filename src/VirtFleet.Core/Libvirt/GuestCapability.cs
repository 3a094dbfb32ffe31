using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>One &lt;guest&gt;: an OS type and arch with its emulator, machine types and domain types (qemu, kvm).</summary>
public sealed class GuestCapability
{
    public string OsType { get; init; } = "";
    public string Arch { get; init; } = "";
    public string? Emulator { get; init; }
    public IReadOnlyList<GuestMachine> Machines { get; init; } = [];
    public IReadOnlyList<string> DomainTypes { get; init; } = [];

    public bool SupportsDomainType(DomainType type) => DomainTypes.Contains(Lower(type));

    /// <summary>A machine type or alias is known (q35 and pc are aliases of versioned types).</summary>
    public bool HasMachine(string machine) => Machines.Any(m => m.Name == machine || m.Canonical == machine);

    internal static GuestCapability FromXml(XElement guest)
    {
        var arch = guest.Element("arch");
        return new GuestCapability
        {
            OsType = guest.Text("os_type") ?? "",
            Arch = arch.Attr("name") ?? "",
            Emulator = arch.Text("emulator"),
            Machines = arch?.Elements("machine").Select(m => new GuestMachine(m.Value, m.Attr("canonical"), Int(m.Attr("maxCpus")))).ToList() ?? [],
            DomainTypes = arch?.Elements("domain").Select(d => d.Attr("type") ?? "").ToList() ?? [],
        };
    }
}
