using System.Management.Automation;
using VirtFleet.Images;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists images in the fleet: which hosts hold each, its size and OS properties.</para>
/// <example><code>Get-VfImage</code></example>
/// <example><code>Get-VfImage win* | Format-List *</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfImage")]
[OutputType(typeof(ImageInfo))]
public sealed class GetVfImageCommand : VfFleetCmdlet
{
    /// <summary>Image names (wildcards allowed). Default: every image on the selected hosts and in the local cache.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        var listing = RunAsync(ct => ImageOperations.ListAsync(scope, hosts, Name, ct));
        foreach (var name in listing.Seen) Session.Known.SawImage(name);
        WriteObject(listing.Images, enumerateCollection: true);
    }
}
