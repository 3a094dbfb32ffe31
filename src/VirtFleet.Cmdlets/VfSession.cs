using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using VirtFleet.Inventory;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// The state VirtFleet keeps for one PowerShell runspace: which inventory it uses and
/// its pooled host connections. Closed with the runspace (or Disconnect-VfHost).
/// </summary>
public sealed class VfSession
{
    private static readonly ConcurrentDictionary<Guid, VfSession> Sessions = new();

    /// <summary>Once per process: the keeper program is the vfkeeper.dll in the module's deps folder when Core's default is absent.</summary>
    static VfSession()
    {
        if (!File.Exists(Transport.Keeper.KeeperClient.ProgramPath)
            && Path.Combine(Path.GetDirectoryName(typeof(VfSession).Assembly.Location) ?? "", "deps", "vfkeeper.dll") is var beside && File.Exists(beside))
            Transport.Keeper.KeeperClient.ProgramPath = beside;
    }

    /// <summary>Inventory file chosen for this session (Start-VfLab sets the lab's); null = default.</summary>
    public string? InventoryPath { get; set; }

    public static VfSession For(PSCmdlet cmdlet) => ForRunspace(cmdlet.SessionState is not null ? Runspace.DefaultRunspace : null);

    /// <summary>The session of the runspace on this thread (argument completers run on its pipeline thread); null outside one.</summary>
    public static VfSession? Current => Runspace.DefaultRunspace is { } r ? ForRunspace(r) : null;

    private static VfSession ForRunspace(Runspace? runspace)
    {
        var id = runspace?.InstanceId ?? Guid.Empty;
        return Sessions.GetOrAdd(id, _ =>
        {
            if (runspace is not null)
                runspace.StateChanged += (_, e) =>
                {
                    if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken && Sessions.TryRemove(id, out var s))
                        s.Close();
                };
            return new VfSession();
        });
    }

    /// <summary>Connections to hosts, kept open between commands in this session (through the user's keeper when it is up).</summary>
    public ConnectionPool Pool { get; } = new();

    /// <summary>
    /// Before a fleet command: makes sure the user's connection keeper answers (starting it on first use) unless it is
    /// turned off; returns what was found, for Verbose. Commands connect directly when it is not up.
    /// </summary>
    public string CheckKeeper()
    {
        if (Transport.Keeper.KeeperClient.Shared is not { } keeper)
        {
            Pool.Keeper = null;
            return "connection keeper not used: " + Transport.Keeper.KeeperSettings.DisabledReason;
        }
        Pool.Keeper = keeper;
        return keeper.EnsureUp() ? keeper.Why : "connection keeper not used (direct connections): " + keeper.Why;
    }

    /// <summary>Fleet names seen in this session, for tab completion.</summary>
    public KnownNames Known { get; } = new();

    public HostInventory LoadInventory(string? explicitPath = null) => HostInventory.Load(explicitPath ?? InventoryPath);

    /// <summary>Closes pooled connections.</summary>
    public void Close() => Pool.CloseAsync().GetAwaiter().GetResult();
}
