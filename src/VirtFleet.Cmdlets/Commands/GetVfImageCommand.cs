using System.Management.Automation;
using VirtFleet.Images;

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
        var found = new Dictionary<string, (ImageManifest Manifest, List<string> Hosts)>();
        ForEachHost(SelectHosts(inv), Options(inv), "Listing images", ImageStore.ListOnHostAsync, (host, images) =>
        {
            foreach (var m in images)
            {
                if (!found.TryGetValue(m.Name, out var e)) found[m.Name] = e = (m, []);
                Session.Known.SawImage(m.Name);
                e.Hosts.Add(host.Name);
            }
        });
        foreach (var (name, (m, hosts)) in found.OrderBy(kv => kv.Key))
            if (Name is null || Name.Any(n => Wildcard.IsMatch(name, n)))
                WriteObject(new ImageInfo
                {
                    Name = name, OsFamily = m.OsFamily, OsVariant = m.OsVariant, Kernel = m.Kernel is not null,
                    VirtualSizeMiB = m.VirtualSize >> 20, Hosts = hosts.Order().ToList(), Manifest = m,
                });
    }
}
