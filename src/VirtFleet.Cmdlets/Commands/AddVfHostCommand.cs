using System.Management.Automation;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Adds a hypervisor host to the VirtFleet inventory.</para>
/// <para type="description">Records how to reach a Linux KVM/libvirt host over SSH. Nothing is installed on the host;
/// it needs sshd, libvirt and qemu. Its SSH host key must be in known_hosts, or -AcceptNewHostKey connects once, records the
/// key on first contact (a changed key is still refused) and adds the host only when that connection succeeded.
/// With -Local the host is the Linux machine VirtFleet runs on, for an admin on the hypervisor itself: no SSH, libvirtd
/// through qemu:///system, commands run as the current user (root directly, anyone else through sudo -n, which must not
/// ask for a password). It is named after the machine unless -Name says otherwise; -Local is refused on Windows and macOS.</para>
/// <example><code>Add-VfHost -Name hv1 -Address 198.51.100.11 -KeyFile ~/.ssh/id_ed25519 -Tag rack1</code></example>
/// <example><code>Add-VfHost hv2 198.51.100.12 -AcceptNewHostKey   # first contact: record its host key, then Test-VfHost hv2 needs no switch</code></example>
/// <example><code>Add-VfHost -Local; Test-VfHost; New-VfInstance -Image debian12 -Name web1   # on the hypervisor itself: no SSH</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Add, "VfHost", SupportsShouldProcess = true, DefaultParameterSetName = BySsh)]
[OutputType(typeof(HostEntry))]
public sealed class AddVfHostCommand : VfCmdlet
{
    private const string BySsh = "Ssh";
    private const string OnThisMachine = "Local";

    /// <summary>The host's name in VirtFleet. With -Local, default: this machine's host name (up to its first dot).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = OnThisMachine)]
    public string Name { get; set; } = "";

    /// <summary>IP address or DNS name for SSH.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    public string Address { get; set; } = "";

    /// <summary>The host is this machine (a Linux hypervisor): reached without SSH, libvirtd through qemu:///system, commands as
    /// the current user (root, else through sudo -n). Refused on Windows and macOS.</summary>
    [Parameter(Mandatory = true, ParameterSetName = OnThisMachine)]
    public SwitchParameter Local { get; set; }

    /// <summary>The host's SSH port (1-65535). Default: 22.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = 22;

    /// <summary>The SSH user. Default: root; another user needs -Sudo (passwordless sudo) for libvirt and the image store.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    public string User { get; set; } = "root";

    /// <summary>Private key file (ed25519, ecdsa or rsa). Default: the user's ~/.ssh keys.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    public string? KeyFile { get; set; }

    /// <summary>Free-form tags for selecting hosts later (-HostTag); default: none.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[] Tag { get; set; } = [];

    /// <summary>Run privileged commands through `sudo -n` (for a non-root user).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = BySsh)]
    public SwitchParameter Sudo { get; set; }

    /// <summary>How VirtFleet talks to the host's libvirtd: Auto (native where this machine has libvirt.so and the host has virt-ssh-helper, else virsh), Native, or Virsh (virsh over SSH only). With -Local, native is libvirt.so on qemu:///system (through sudo -n virt-ssh-helper for a non-root user) and virsh runs in the local shell. Default: Auto, or $env:VF_LIBVIRT. Get-VfConnection shows the path taken.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("Auto", "Native", "Virsh")]
    public string? LibvirtPath { get; set; }

    /// <summary>The inventory file to add to; default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY, else the user's config folder.</summary>
    [Parameter]
    public string? Inventory { get; set; }

    /// <summary>Replace a host of the same name.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Connect now and, if known_hosts lacks the host's key, record it (trust on first use); a changed key is
    /// still refused. The host is added only when this connection succeeds. Default: no connection, the key must already be known.</summary>
    [Parameter(ParameterSetName = BySsh)]
    public SwitchParameter AcceptNewHostKey { get; set; }

    protected override void ProcessRecord()
    {
        var entry = Local ? LocalEntry() : new HostEntry
        {
            Name = Name, Address = Address, Port = Port, User = User, Sudo = Sudo, Tags = Tag.ToList(),
            Libvirt = LibvirtPath is null or "Auto" ? null : LibvirtPath.ToLowerInvariant(),
            KeyFile = KeyFile is null ? null : GetUnresolvedProviderPathFromPSPath(KeyFile),
        };
        try { entry.Validate(); }
        catch (VfException ex) { ThrowFailure(ex, Name); }
        Name = entry.Name;

        var inv = Session.LoadInventory(Inventory is null ? null : GetUnresolvedProviderPathFromPSPath(Inventory));
        if (inv.Find(Name) is { } existing && !Force)
        {
            WriteFailure(new VfException("HostExists", FailureKind.ResourceExists,
                $"A host named '{Name}' is already in {inv.Path}; use Set-VfHost, or -Force to replace it.", Name), Name);
            return;
        }
        if (Local && inv.Hosts.FirstOrDefault(h => h.Local && !string.Equals(h.Name, Name, StringComparison.OrdinalIgnoreCase)) is { } other)
        {
            WriteFailure(new VfException("LocalHostExists", FailureKind.ResourceExists,
                $"{inv.Path} already has this machine as '{other.Name}'; one machine is one host (Remove-VfHost {other.Name} first to rename it).", Name), Name);
            return;
        }
        if (!ShouldProcess(Local ? $"{Name} (this machine, no SSH)" : $"{Name} ({User}@{Address}:{Port})", $"Add host to {inv.Path}")) return;
        if (AcceptNewHostKey && !FirstContact(entry, inv)) return;
        inv.Hosts.RemoveAll(h => string.Equals(h.Name, Name, StringComparison.OrdinalIgnoreCase));
        inv.Hosts.Add(entry);
        inv.Save();
        WriteObject(entry);
    }

    /// <summary>This machine as a host: refused where it cannot be a libvirt host; named after the machine unless -Name says.</summary>
    private HostEntry LocalEntry()
    {
        var name = Name is { Length: > 0 } ? Name : HostEntry.LocalName(Environment.MachineName);
        try { Transport.LocalHost.EnsureSupported(name ?? Environment.MachineName); }
        catch (VfException ex) { ThrowFailure(ex, name); }
        if (name is null)
            ThrowFailure(new VfException("LocalNameRequired", FailureKind.InvalidArgument,
                $"This machine's name '{Environment.MachineName}' is not a valid host name; give one with -Name.", Environment.MachineName));
        return new HostEntry
        {
            Name = name!, Address = "", User = "", Local = true, Tags = Tag.ToList(),
            Libvirt = LibvirtPath is null or "Auto" ? null : LibvirtPath.ToLowerInvariant(),
        };
    }

    /// <summary>Connects with trust on first use (the key goes into the inventory's known_hosts) and probes the host; false after writing the error.</summary>
    private bool FirstContact(HostEntry entry, Inventory.HostInventory inv)
    {
        var options = new Transport.SshOptions
        {
            HostKeyPolicy = Transport.HostKeyPolicy.AcceptNew, KnownHostsPath = inv.KnownHosts, KeyExchange = inv.KeyExchange,
            CommandTimeout = TimeSpan.FromSeconds(60),
        };
        Exception? failure = null;
        var pool = Session.Pool; // on the pipeline thread: workers have no runspace
        RunAsync(async ct =>
        {
            try
            {
                var facts = await Hosts.HostProbe.ProbeAsync(pool.Get(entry, options), ct);
                PostVerbose($"{Name}: connected, host key on record; libvirt {(facts.LibvirtRunning ? "running" : "not running")}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested) { failure = ex; }
        });
        if (failure is null) return true;
        WriteFailure(failure, Name);
        return false;
    }
}
