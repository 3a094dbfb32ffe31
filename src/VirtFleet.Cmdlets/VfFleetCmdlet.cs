using System.Management.Automation;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Base of cmdlets that work on hosts: host selection (-Host, -HostTag), connection settings,
/// and a fan-out that streams per-host results and writes one error per failing host.
/// </summary>
public abstract class VfFleetCmdlet : VfCmdlet
{
    /// <summary>Hosts to work on, by name or address (wildcards allowed). Default: every host in the inventory.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("HostName", "ComputerName")]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Host { get; set; }

    /// <summary>Only hosts carrying all of these tags (see Add-VfHost -Tag). Default: no tag filter.</summary>
    [Parameter]
    public string[]? HostTag { get; set; }

    /// <summary>Inventory file, which must exist; default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY (which must exist too), else the user's config folder.</summary>
    [Parameter]
    public string? Inventory { get; set; }

    /// <summary>How many hosts are worked on at once (1-1024). Default: 32.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottle;

    /// <summary>Seconds to wait for a host's SSH banner (1-600); authentication gets at least 15 s. Default: 10.</summary>
    [Parameter]
    [ValidateRange(1, 600)]
    public int ConnectTimeout { get; set; } = 10;

    /// <summary>Seconds one host may take for the whole operation (1-86400). Default: 300.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int OperationTimeout { get; set; } = 300;

    /// <summary>The passphrase of an encrypted private key, or, when no key needs one, the login password (the user name is ignored). A passphrase only decrypts the key here: it is never sent to a host. Default: key authentication with unencrypted keys.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Record an unknown host key and connect (trust on first use). A changed key is still refused.</summary>
    [Parameter]
    public SwitchParameter AcceptNewHostKey { get; set; }

    protected HostInventory LoadInventory() => OpenInventory(Inventory);

    /// <summary>
    /// For objects piped in, each naming the inventory it was read through: that inventory when they all name the same one
    /// and -Inventory is not given; else the command's own (<see cref="LoadInventory()"/>).
    /// </summary>
    protected HostInventory LoadInventory(IEnumerable<string?> readThrough) =>
        Inventory is null && readThrough.Distinct().ToList() is [{ } from] ? Session.LoadInventory(from) : LoadInventory();

    protected IReadOnlyList<HostEntry> SelectHosts(HostInventory inventory)
    {
        var hosts = SelectFrom(inventory, Host, HostTag);
        if (hosts.Count == 0 && inventory.Hosts.Count == 0)
            WriteWarning($"The inventory {inventory.Path} has no hosts. Add one with Add-VfHost, or start the lab with Start-VfLab.");
        return hosts;
    }

    /// <summary>The one host -Host names exactly (no wildcard), by its inventory name when it has one; null otherwise.</summary>
    protected string? ExactHost(HostInventory inventory) =>
        Host is [var h] && !WildcardPattern.ContainsWildcardCharacters(h) ? inventory.Find(h)?.Name ?? h : null;

    /// <summary>Writes an instance, naming the inventory it was read through (the cmdlets it is piped to use it).</summary>
    protected void WriteInstance(Instance instance, HostInventory inventory)
    {
        instance.Inventory = inventory.Path;
        Session.Known.Saw(instance);
        WriteObject(instance);
    }

    protected SshOptions Options(HostInventory inventory) => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(ConnectTimeout),
        AuthTimeout = TimeSpan.FromSeconds(Math.Max(ConnectTimeout, 15)),
        CommandTimeout = TimeSpan.FromSeconds(OperationTimeout),
        HostKeyPolicy = AcceptNewHostKey ? HostKeyPolicy.AcceptNew : HostKeyPolicy.Strict,
        KnownHostsPath = inventory.KnownHosts,
        KeyExchange = inventory.KeyExchange,
        Password = Credential?.GetNetworkCredential().Password is { Length: > 0 } p ? p : null,
        KeyPassphrase = Credential?.GetNetworkCredential().Password is { Length: > 0 } k ? k : null,
    };

    /// <summary>The scope Core operations run in: this command's inventory, connection settings, throttle and reporter.</summary>
    protected Operations.FleetScope Scope(HostInventory inventory)
    {
        var options = Options(inventory);
        var pool = Session.Pool;
        var known = Session.Known;
        PostVerbose(Session.CheckKeeper()); // Scope may be built inside RunAsync, on a worker thread
        return new Operations.FleetScope(inventory, h => pool.Connect(h, options), Reporter, ThrottleLimit,
            TimeSpan.FromSeconds(OperationTimeout) + TimeSpan.FromSeconds(ConnectTimeout) * 2)
        {
            Seen = o => { if (o is Networking.FleetNetworkState fleet) known.Saw(fleet); },
        };
    }
}

