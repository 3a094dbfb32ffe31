using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtFleet.Lab;

/// <summary>The state of the local lab fleet, as vflab.sh reports it.</summary>
public sealed class LabStatus
{
    public string StateDir { get; init; } = "";
    public string Bridge { get; init; } = "";
    public string AdminAddress { get; init; } = "";
    public string KeyFile { get; init; } = "";
    public string KnownHosts { get; init; } = "";
    /// <summary>An Ansible inventory of the lab hosts (for the benchmarks' peers).</summary>
    [JsonPropertyName("inventory")] public string AnsibleInventory { get; init; } = "";
    /// <summary>The VirtFleet inventory Start-VfLab writes for the lab.</summary>
    [JsonIgnore] public string Inventory => Path.Combine(StateDir, "inventory.yml");
    public string SshConfig { get; init; } = "";
    public List<LabHost> Hosts { get; init; } = [];
    public int HostCount => Hosts.Count;
    /// <summary>Folders of the lab's guest images (tiny Linux, blank win2008), ready for Import-VfImage.</summary>
    [JsonIgnore] public List<string> GuestImages { get; set; } = [];
    public int RunningCount => Hosts.Count(h => h.Running);
}
