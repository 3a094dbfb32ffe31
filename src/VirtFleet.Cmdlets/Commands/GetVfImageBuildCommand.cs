using System.Management.Automation;
using VirtFleet.ImageBuilds;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists image builds in progress: host, state, when started, the root disk's size and use, the ISOs.</para>
/// <example><code>Get-VfImageBuild</code></example>
/// <example><code>Get-VfImageBuild win* | Format-List *</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfImageBuild")]
[OutputType(typeof(ImageBuild))]
public sealed class GetVfImageBuildCommand : VfFleetCmdlet
{
    /// <summary>Build names (wildcards allowed). Default: every build on the selected hosts.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        RunAsync(ct => ImageBuildOperations.ListAsync(scope, hosts, Name, ct, builds => Post(() =>
        {
            foreach (var b in builds)
            {
                b.Inventory = inv.Path;
                WriteObject(b);
            }
        })));
    }
}
