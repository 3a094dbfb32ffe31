namespace VirtFleet.Libvirt;

/// <summary>A NIC on a libvirt network or host bridge. A null Mac is derived from the instance UUID.</summary>
public sealed record NicRequest(InterfaceType Type, string Source, string? Mac = null, NicModel? Model = null)
{
    public static NicRequest Network(string name, string? mac = null) => new(InterfaceType.Network, name, mac);
    public static NicRequest Bridge(string name, string? mac = null) => new(InterfaceType.Bridge, name, mac);
}
