using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>One pooled host connection of this session or of the user's connection keeper (<see cref="Via"/>); <see cref="Transport"/> is "ssh", or "local" for this machine (no address, user or handshake).</summary>
/// <param name="Libvirt">The path libvirt calls take now: native (libvirt.so, through virt-ssh-helper) or virsh.</param>
/// <param name="LibvirtNote">Why the host is on that path (auto, virsh asked for, why native is not up).</param>
public sealed record VfConnectionInfo(string Host, string Address, int Port, string User, bool Connected, int Handshakes, long Commands,
    string Transport = "ssh", string Libvirt = "virsh", string LibvirtNote = "")
{
    /// <summary>Who holds the connection: "session" (this process) or "keeper" (the user's connection keeper).</summary>
    public string Via { get; init; } = "session";
}
