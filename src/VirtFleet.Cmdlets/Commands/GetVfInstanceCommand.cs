using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Operations;

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
        var request = new ListInstancesRequest { Hosts = SelectHosts(inv), Names = Name, Images = Image, States = State, Tags = Tag, All = All };
        var scope = Scope(inv);
        RunAsync(ct => ListInstances.RunAsync(scope, request, ct, instances => Post(() =>
        {
            foreach (var i in instances) WriteInstance(i, inv);
        })));
    }
}
