using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists instances across the fleet, read live from each host (one round trip per host, hosts in parallel).</para>
/// <para type="description">Shows VirtFleet's instances with host, state, OS, type and addresses. Domains VirtFleet did not
/// create are listed only with -All, and are never changed by VirtFleet without -Force.</para>
/// <example><code>Get-VfInstance</code></example>
/// <example><code>Get-VfInstance web* -State Running -Tag prod</code></example>
/// <example><code>Get-VfInstance -All -Host hv1</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfInstance")]
[OutputType(typeof(Instance))]
public sealed class GetVfInstanceCommand : VfFleetCmdlet
{
    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only instances of these images.</summary>
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    [Parameter] public string[]? Image { get; set; }

    /// <summary>Only instances in these states.</summary>
    [Parameter] public InstanceState[]? State { get; set; }

    /// <summary>Only instances carrying all of these tags.</summary>
    [Parameter] public string[]? Tag { get; set; }

    /// <summary>Include domains VirtFleet did not create.</summary>
    [Parameter] public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        ForEachHost(SelectHosts(inv), Options(inv), "Listing instances", InstanceReader.ReadAsync, (_, instances) =>
        {
            foreach (var i in instances.Where(Matches).OrderBy(i => i.Name, StringComparer.OrdinalIgnoreCase))
                WriteInstance(i, inv);
        });
    }

    private bool Matches(Instance i) =>
        (All || i.IsVirtFleet) &&
        (Name is null || Name.Any(n => Wildcard.IsMatch(i.Name, n) || (i.InstanceId is { } id && Wildcard.IsMatch(id, n)))) &&
        (Image is null || Image.Any(n => i.Image is { } img && Wildcard.IsMatch(img, n))) &&
        (State is null || State.Contains(i.State)) &&
        (Tag is null || Tag.All(t => i.Tags.Contains(t, StringComparer.OrdinalIgnoreCase)));
}
