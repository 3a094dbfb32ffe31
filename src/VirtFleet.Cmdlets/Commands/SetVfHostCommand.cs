using System.Management.Automation;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Changes how VirtFleet reaches a host.</para>
/// <para type="description">Changes the inventory's entry of a host: how to reach it, its tags, and whether it is in
/// maintenance. A host in maintenance is never chosen by New-VfInstance's placement, Move-VfInstance or Invoke-VfRebalance
/// as a destination; Invoke-VfRebalance -Drain moves its instances off.</para>
/// <example><code>Set-VfHost -Name hv1 -Tag rack1, gpu</code></example>
/// <example><code>Set-VfHost hv2 -Maintenance; Invoke-VfRebalance -Drain hv2</code></example>
/// <example><code>Set-VfHost hv3 -LibvirtPath Virsh   # this host's libvirtd through virsh over SSH only</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "VfHost", SupportsShouldProcess = true)]
[OutputType(typeof(HostEntry))]
public sealed class SetVfHostCommand : VfCmdlet
{
    /// <summary>The host to change, by its name in the inventory.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A new IP address or DNS name for SSH. Default: unchanged.</summary>
    [Parameter] public string? Address { get; set; }
    /// <summary>A new SSH port (1-65535). Default: unchanged.</summary>
    [Parameter] [ValidateRange(1, 65535)] public int? Port { get; set; }
    /// <summary>A new SSH user (a non-root user needs -Sudo). Default: unchanged.</summary>
    [Parameter] public string? User { get; set; }
    /// <summary>A new private key file (ed25519, ecdsa or rsa). Default: unchanged.</summary>
    [Parameter] public string? KeyFile { get; set; }
    /// <summary>Tags that replace the host's tags (an empty list clears them). Default: unchanged.</summary>
    [Parameter] public string[]? Tag { get; set; }
    /// <summary>Run privileged commands through `sudo -n`: -Sudo turns it on, -Sudo:$false off. Default: unchanged.</summary>
    [Parameter] public SwitchParameter Sudo { get; set; }
    /// <summary>Put the host in maintenance (-Maintenance) or take it out (-Maintenance:$false): placement, moves and rebalancing skip a host in maintenance. Default: unchanged.</summary>
    [Parameter] public SwitchParameter Maintenance { get; set; }
    /// <summary>How VirtFleet talks to the host's libvirtd: Auto (native where this machine has libvirt.so and the host has virt-ssh-helper, else virsh), Native, or Virsh (virsh over SSH only). Auto removes the host's own setting ($env:VF_LIBVIRT then decides). Default: unchanged. Get-VfConnection shows the path taken.</summary>
    [Parameter]
    [ValidateSet("Auto", "Native", "Virsh")]
    public string? LibvirtPath { get; set; }
    /// <summary>Inventory file (a path); default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY, else the user's config folder.</summary>
    [Parameter] public string? Inventory { get; set; }

    protected override void ProcessRecord()
    {
        var inv = OpenInventory(Inventory);
        if (inv.Find(Name) is not { } entry)
        {
            WriteFailure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{Name}' in {inv.Path}.", Name), Name);
            return;
        }
        var changed = new HostEntry
        {
            Name = entry.Name, Address = Address ?? entry.Address, Port = Port ?? entry.Port, User = User ?? entry.User,
            KeyFile = KeyFile is null ? entry.KeyFile : GetUnresolvedProviderPathFromPSPath(KeyFile),
            Sudo = MyInvocation.BoundParameters.ContainsKey(nameof(Sudo)) ? Sudo.IsPresent : entry.Sudo, Tags = Tag?.ToList() ?? entry.Tags,
            Libvirt = LibvirtPath is null ? entry.Libvirt : LibvirtPath == "Auto" ? null : LibvirtPath.ToLowerInvariant(),
            Maintenance = MyInvocation.BoundParameters.ContainsKey(nameof(Maintenance)) ? Maintenance.IsPresent : entry.Maintenance,
        };
        try { changed.Validate(); }
        catch (VfException ex) { ThrowFailure(ex, Name); }
        if (!ShouldProcess(Name, $"Update host in {inv.Path}")) return;
        inv.Hosts[inv.Hosts.IndexOf(entry)] = changed;
        inv.Save();
        WriteObject(changed);
    }
}
