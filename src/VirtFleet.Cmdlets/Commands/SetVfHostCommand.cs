using System.Management.Automation;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Changes how VirtFleet reaches a host.</para>
/// <example><code>Set-VfHost -Name hv1 -Tag rack1, gpu</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "VfHost", SupportsShouldProcess = true)]
[OutputType(typeof(HostEntry))]
public sealed class SetVfHostCommand : VfCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter] public string? Address { get; set; }
    [Parameter] [ValidateRange(1, 65535)] public int? Port { get; set; }
    [Parameter] public string? User { get; set; }
    [Parameter] public string? KeyFile { get; set; }
    [Parameter] public string[]? Tag { get; set; }
    [Parameter] public SwitchParameter? Sudo { get; set; }
    [Parameter] public string? Inventory { get; set; }

    protected override void ProcessRecord()
    {
        var inv = Session.LoadInventory(Inventory is null ? null : GetUnresolvedProviderPathFromPSPath(Inventory));
        if (inv.Find(Name) is not { } entry)
        {
            WriteFailure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{Name}' in {inv.Path}.", Name), Name);
            return;
        }
        var changed = new HostEntry
        {
            Name = entry.Name, Address = Address ?? entry.Address, Port = Port ?? entry.Port, User = User ?? entry.User,
            KeyFile = KeyFile is null ? entry.KeyFile : GetUnresolvedProviderPathFromPSPath(KeyFile),
            Sudo = Sudo?.IsPresent ?? entry.Sudo, Tags = Tag?.ToList() ?? entry.Tags,
        };
        try { changed.Validate(); }
        catch (VfException ex) { ThrowFailure(ex, Name); }
        if (!ShouldProcess(Name, $"Update host in {inv.Path}")) return;
        inv.Hosts[inv.Hosts.IndexOf(entry)] = changed;
        inv.Save();
        WriteObject(changed);
    }
}
