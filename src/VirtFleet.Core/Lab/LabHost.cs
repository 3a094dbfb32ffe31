using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtFleet.Lab;

/// <summary>One lab hypervisor host: a network + mount namespace running sshd, libvirtd and virtlogd.</summary>
public sealed class LabHost
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "";
    [JsonPropertyName("netns")] public string Namespace { get; init; } = "";
    public int Pid { get; init; }
    public bool Running { get; init; }
    public string? GuestSubnet { get; init; }
}
