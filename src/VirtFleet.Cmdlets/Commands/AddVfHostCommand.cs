using System.Management.Automation;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Adds a hypervisor host to the VirtFleet inventory.</para>
/// <para type="description">Records how to reach a Linux KVM/libvirt host over SSH. Nothing is installed on the host;
/// it needs sshd, libvirt and qemu. Its SSH host key must be in known_hosts (or use -AcceptNewHostKey on first contact).</para>
/// <example><code>Add-VfHost -Name hv1 -Address 198.51.100.11 -KeyFile ~/.ssh/id_ed25519 -Tag rack1</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Add, "VfHost", SupportsShouldProcess = true)]
[OutputType(typeof(HostEntry))]
public sealed class AddVfHostCommand : VfCmdlet
{
    /// <summary>The host's name in VirtFleet.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string Name { get; set; } = "";

    /// <summary>IP address or DNS name for SSH.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public string Address { get; set; } = "";

    /// <summary>The host's SSH port (1-65535). Default: 22.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = 22;

    /// <summary>The SSH user. Default: root; another user needs -Sudo (passwordless sudo) for libvirt and the image store.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string User { get; set; } = "root";

    /// <summary>Private key file (ed25519, ecdsa or rsa). Default: the user's ~/.ssh keys.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? KeyFile { get; set; }

    /// <summary>Free-form tags for selecting hosts later (-HostTag); default: none.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[] Tag { get; set; } = [];

    /// <summary>Run privileged commands through `sudo -n` (for a non-root user).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter Sudo { get; set; }

    /// <summary>The inventory file to add to; default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY, else the user's config folder.</summary>
    [Parameter]
    public string? Inventory { get; set; }

    /// <summary>Replace a host of the same name.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var entry = new HostEntry
        {
            Name = Name, Address = Address, Port = Port, User = User, Sudo = Sudo, Tags = Tag.ToList(),
            KeyFile = KeyFile is null ? null : GetUnresolvedProviderPathFromPSPath(KeyFile),
        };
        try { entry.Validate(); }
        catch (VfException ex) { ThrowFailure(ex, Name); }

        var inv = Session.LoadInventory(Inventory is null ? null : GetUnresolvedProviderPathFromPSPath(Inventory));
        if (inv.Find(Name) is { } existing && !Force)
        {
            WriteFailure(new VfException("HostExists", FailureKind.ResourceExists,
                $"A host named '{Name}' is already in {inv.Path}; use Set-VfHost, or -Force to replace it.", Name), Name);
            return;
        }
        if (!ShouldProcess($"{Name} ({User}@{Address}:{Port})", $"Add host to {inv.Path}")) return;
        inv.Hosts.RemoveAll(h => string.Equals(h.Name, Name, StringComparison.OrdinalIgnoreCase));
        inv.Hosts.Add(entry);
        inv.Save();
        WriteObject(entry);
    }
}
