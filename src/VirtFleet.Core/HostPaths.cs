namespace VirtFleet;

/// <summary>
/// Every path VirtFleet uses on a hypervisor host, in one place. All are fixed, absolute and free of user text, so
/// script text can carry them as they are; names that come from users are validated and joined by the helpers below.
/// </summary>
public static class HostPaths
{
    /// <summary>VirtFleet's store on every host: images, instance folders and the fleet's networking documents.</summary>
    public const string Store = "/var/lib/libvirt/virtfleet";

    /// <summary>One folder per image: its current manifest (image.json) and one content folder per version.</summary>
    public const string Images = Store + "/images";

    /// <summary>One folder per instance: its overlay disk, seed ISO and copied kernel.</summary>
    public const string Instances = Store + "/instances";

    /// <summary>The fleet's networking documents, the same on every host (see Networking.NetworkStore).</summary>
    public const string Network = Store + "/network";
    public const string NetworksDocument = Network + "/networks.json";
    public const string AddressesDocument = Network + "/addresses.json";
    public const string SecurityGroupsDocument = Network + "/groups.json";

    /// <summary>DHCP reservations for VirtFleet networks: one folder per network, one "mac,ip" file per reserved MAC (dnsmasq dhcp-hostsdir).</summary>
    public const string Dhcp = Network + "/dhcp";

    /// <summary>VirtFleet's runtime folder (root-only, 0700): the host lock lives here.</summary>
    public const string Run = "/run/virtfleet";

    /// <summary>The host lock every state-changing script takes (flock).</summary>
    public const string Lock = Run + "/host.lock";

    /// <summary>libvirt's dnsmasq lease status files (*.status, JSON), read for instance addresses.</summary>
    public const string LibvirtDnsmasq = "/var/lib/libvirt/dnsmasq";

    /// <summary>libvirt's per-network runtime files: NAME.pid is the network's dnsmasq.</summary>
    public const string LibvirtNetworkRun = "/run/libvirt/network";

    /// <summary>An image's folder on a host (the name checked against the allowlist).</summary>
    public static string Image(string name) => Images + "/" + Libvirt.Names.ValidateInstanceName(name);

    /// <summary>An instance's folder on a host (the name checked against the allowlist).</summary>
    public static string Instance(string name) => Instances + "/" + Libvirt.Names.ValidateInstanceName(name);

    /// <summary>A VirtFleet network's DHCP reservation folder on a host.</summary>
    public static string DhcpHosts(string network) => Dhcp + "/" + network;
}
