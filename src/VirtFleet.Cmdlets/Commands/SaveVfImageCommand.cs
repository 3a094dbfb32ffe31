using System.Management.Automation;
using VirtFleet.Images;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Saves a stopped instance's disk as a new image, with the properties of the image it was made from.</para>
/// <para type="description">The instance's overlay is flattened on its host (qemu-img convert -f qcow2 -O qcow2): the new image
/// has its own copy of every block, never a backing reference into the image or instance it came from, and no checkpoints.
/// It carries the source image's properties (OS family and variant, firmware, disk bus, NIC model, minimum memory, virtio
/// drivers, and the kernel and initrd of a direct-kernel-boot image), is checksummed on the host, installed there, and copied
/// into the local image cache (checksums checked again), so New-VfInstance can use it at once on any host: it is copied where
/// missing, as an imported image. The instance must be shut off (Stop-VfInstance): a running guest's disk is not consistent
/// while it writes, so a running or paused instance is refused. To keep a running guest's state, take a checkpoint instead
/// (Checkpoint-VfInstance).</para>
/// <example><code>Stop-VfInstance web1; Save-VfImage -Instance web1 -Name web-golden; New-VfInstance -Image web-golden -Count 4</code></example>
/// <example><code>Get-VfInstance web1 | Save-VfImage -Name web-golden -Force</code></example>
/// </summary>
[Cmdlet(VerbsData.Save, "VfImage", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(ImageInfo))]
public sealed class SaveVfImageCommand : VfFleetCmdlet
{
    private const string ByObject = "ByObject";
    private const string ByName = "ByName";

    /// <summary>The instance to save, as Get-VfInstance returns it (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance? InputObject { get; set; }

    /// <summary>The instance's name or id (no wildcards; with the same name on two hosts, select one with -Host).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string Instance { get; set; } = "";

    /// <summary>The new image's name: letters, digits, '-', '_', '.', 1-63 characters.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public string Name { get; set; } = "";

    /// <summary>Replace an image of that name in the local cache (hosts keep the versions their instances were made from).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var inv = Inventory is null && InputObject?.Inventory is { } from ? Session.LoadInventory(from) : LoadInventory();
        var request = new SaveImageRequest
        {
            Instance = InputObject, InstanceName = InputObject is null ? Instance : null,
            SearchHosts = InputObject is null ? SelectHosts(inv) : [], Name = Name, Force = Force,
        };
        var scope = Scope(inv);
        if (RunAsync(ct => SaveImage.RunAsync(scope, request, ct), InputObject?.Name ?? Instance) is { } image)
        {
            Session.Known.SawImage(image.Name);
            WriteObject(image);
        }
    }
}
