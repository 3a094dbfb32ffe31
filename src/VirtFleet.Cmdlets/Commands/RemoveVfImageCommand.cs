using System.Management.Automation;
using VirtFleet.Images;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes an image from hosts. Refused on a host where an instance still uses it, unless -Force.</para>
/// <example><code>Remove-VfImage old-image</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfImageCommand : VfFleetCmdlet
{
    /// <summary>The image to remove from the selected hosts' image stores.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Remove even where instances use the image (their disks then lose their base).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        try { ImageStore.HostImageDir(Name); } catch (VfException ex) { ThrowFailure(ex, Name); }
        var hosts = SelectHosts(inv).Where(h => ShouldProcess($"{Name} on {h.Name}", "Remove image")).ToList();
        ForEachHost(hosts, Options(inv), $"Removing image {Name}", async (host, ct) =>
        {
            var users = (await InstanceReader.ReadAsync(host, ct)).Where(i => i.Image == Name).Select(i => i.Name).ToList();
            if (users.Count > 0 && !Force)
                throw new VfException("ImageInUse", FailureKind.InvalidOperation,
                    $"{host.Host.Name}: image {Name} is used by {string.Join(", ", users)}; remove them first or use -Force.", host.Host.Name);
            await ImageStore.RemoveFromHostAsync(host, Name, ct);
            return true;
        }, (_, _) => { });
    }
}
