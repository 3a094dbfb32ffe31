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

    /// <summary>
    /// Writes the lab's inventory (lab key, lab known_hosts and the first <paramref name="hostCount"/> hosts: a
    /// lab may have more, as up never removes hosts) and returns its path.
    /// </summary>
    public static string RegisterInventory(LabStatus status, int hostCount)
    {
        var path = Path.Combine(status.StateDir, "inventory.yml");
        var inv = HostInventory.Load(path);
        inv.KnownHosts = status.KnownHosts;
        // Instances without -Network join the lab's guest network (routed to the admin side; hosts 1-16 have it).
        inv.DefaultNetwork = "vflab";
        inv.Hosts = status.Hosts.Where(h => int.TryParse(h.Name.AsSpan(3), out var i) && i <= hostCount).Select(h => new HostEntry
        {
            Name = h.Name, Address = h.Address, User = "root", KeyFile = status.KeyFile, Tags = ["lab"],
        }).ToList();
        inv.Save();
        return inv.Path;
    }
}
