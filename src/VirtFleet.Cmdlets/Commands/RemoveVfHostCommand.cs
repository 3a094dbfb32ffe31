using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes hosts from the inventory. Nothing on the host is changed.</para>
/// <example><code>Get-VfHost -Tag retired | Remove-VfHost</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
public sealed class RemoveVfHostCommand : VfCmdlet
{
    /// <summary>Host names to remove from the inventory (wildcards allowed). Nothing on the hosts is touched.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Inventory file (a path); default: the session's (Start-VfLab sets the lab's), else $env:VIRTFLEET_INVENTORY, else the user's config folder.</summary>
    [Parameter] public string? Inventory { get; set; }

    protected override void ProcessRecord()
    {
        var inv = OpenInventory(Inventory);
        var removed = false;
        foreach (var n in Name)
        {
            var matches = inv.Hosts.Where(h => Wildcard.IsMatch(h.Name, n)).ToList();
            if (matches.Count == 0 && !Wildcard.HasWildcards(n))
                WriteFailure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{n}' in {inv.Path}.", n), n);
            foreach (var h in matches)
                if (ShouldProcess(h.Name, $"Remove host from {inv.Path}")) { inv.Hosts.Remove(h); removed = true; }
        }
        if (removed) inv.Save();
    }
}
