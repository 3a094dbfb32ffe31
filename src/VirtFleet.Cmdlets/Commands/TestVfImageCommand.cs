using System.Management.Automation;
using VirtFleet.Operations;
using VirtFleet.Windows;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists what a cloud Windows image needs (virtio drivers, RDP, ICMP, cloudbase-init, sysprep) and which of them the image's properties declare.</para>
/// <para type="description">One object per requirement. Declared comes from the image's manifest: virtio_drivers, and the features an
/// image build records (New-VfImageBuild with a generated answer file declares them all) or an image.json lists under "features".
/// The disk itself is not inspected. Images of other OS families have no such list and return nothing.</para>
/// <example><code>Test-VfImage win2k19</code></example>
/// <example><code>Get-VfImage | Test-VfImage | Where-Object { -not $_.Declared }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "VfImage")]
[OutputType(typeof(ImageRequirementCheck))]
public sealed class TestVfImageCommand : VfFleetCmdlet
{
    /// <summary>Image names (wildcards allowed), or images from Get-VfImage.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        var listing = RunAsync(ct => ImageOperations.ListAsync(scope, hosts, Name, ct));
        foreach (var n in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && !listing.Images.Any(i => i.Name == n)))
            WriteFailure(new VfException("ImageNotFound", FailureKind.ObjectNotFound, $"No image '{n}' on the selected hosts or in the local cache.", n), n);
        foreach (var image in listing.Images) WriteObject(ImageRequirements.Check(image.Manifest), enumerateCollection: true);
    }
}
