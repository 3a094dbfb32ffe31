using System.Management.Automation;
using VirtFleet.Inventory;
using VirtFleet.Lab;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets;

/// <summary>What the lab cmdlets share: where the shipped script is, and the lab's inventory.</summary>
internal static class LabCommands
{
    public static LabFleet Fleet(PSCmdlet cmdlet, string? stateDir)
    {
        var moduleDir = Path.GetDirectoryName(typeof(LabCommands).Assembly.Location)!;
        var script = Path.Combine(moduleDir, "lab", "vflab.sh");
        return new LabFleet(script, stateDir is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(stateDir));
    }

    /// <summary>Writes the lab's inventory (hosts, lab key, lab known_hosts) and returns its path.</summary>
    public static string RegisterInventory(LabStatus status)
    {
        var path = Path.Combine(status.StateDir, "inventory.yml");
        var inv = HostInventory.Load(path);
        inv.KnownHosts = status.KnownHosts;
        inv.Hosts = status.Hosts.Select(h => new HostEntry
        {
            Name = h.Name, Address = h.Address, User = "root", KeyFile = status.KeyFile, Tags = ["lab"],
        }).ToList();
        inv.Save();
        return inv.Path;
    }
}
