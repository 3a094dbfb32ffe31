using System.Management.Automation;
using VirtFleet.Operations;

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
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        RunAsync(ct => ImageOperations.RemoveAsync(scope, Name, hosts, Force, ct), Name);
    }
}
