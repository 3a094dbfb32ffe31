using System.Management.Automation;
using VirtFleet.Images;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Imports an image into the catalog and copies it to hosts that lack it.</para>
/// <para type="description">-Path is either a folder holding image.json (plus the disk, and kernel/initrd for direct
/// kernel boot) or a qcow2 disk with its properties as parameters. The image is checked (no qcow2 backing or external
/// data file), cached locally so any host can get it later, and uploaded over SFTP to each chosen host's image store
/// only where missing: to a temporary name, verified by checksum and qemu-img -f qcow2, then renamed.</para>
/// <example><code>Import-VfImage -Path ./win2008.qcow2 -Name win2008 -OsFamily Windows -OsVariant win2k8r2</code></example>
/// <example><code>Import-VfImage -Path ./out/guests/vflinux -Host hv1, hv2</code></example>
/// </summary>
[Cmdlet(VerbsData.Import, "VfImage", SupportsShouldProcess = true, DefaultParameterSetName = FromFolder)]
[OutputType(typeof(ImageInfo))]
public sealed class ImportVfImageCommand : VfFleetCmdlet
{
    private const string FromFolder = "FromFolder";
    private const string FromDisk = "FromDisk";

    /// <summary>An image folder with image.json, or a qcow2 disk file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>The image's name (defaults to image.json's name).</summary>
    [Parameter(ParameterSetName = FromFolder)]
    [Parameter(Mandatory = true, ParameterSetName = FromDisk)]
    public string? Name { get; set; }

    /// <summary>The guest OS family: Windows or Linux; picks the domain template (Windows: Hyper-V enlightenments, localtime clock, no SSH key).</summary>
    [Parameter(Mandatory = true, ParameterSetName = FromDisk)]
    [ValidateSet("Windows", "Linux")]
    public string OsFamily { get; set; } = "Linux";

    /// <summary>The OS variant (osinfo short id, e.g. win2k8r2, debian12); refines the template's defaults. Default: none.</summary>
    [Parameter(ParameterSetName = FromDisk)] public string? OsVariant { get; set; }
    /// <summary>The guest firmware: Bios or Uefi. Default: the OS template's (Bios).</summary>
    [Parameter(ParameterSetName = FromDisk)] [ValidateSet("Bios", "Uefi")] public string? Firmware { get; set; }
    /// <summary>The image carries virtio drivers (virtio-win for Windows): disk and NIC become virtio.</summary>
    [Parameter(ParameterSetName = FromDisk)] public SwitchParameter VirtioDrivers { get; set; }
    /// <summary>The disk bus: Virtio, Sata, Ide or Scsi. Default: Virtio when the image has virtio drivers (Linux, or -VirtioDrivers), else the OS template's (Sata).</summary>
    [Parameter(ParameterSetName = FromDisk)] [ValidateSet("Virtio", "Sata", "Ide", "Scsi")] public string? DiskBus { get; set; }
    /// <summary>The NIC model: Virtio, E1000 or Rtl8139. Default: Virtio when the image has virtio drivers (Linux, or -VirtioDrivers), else the OS template's (E1000).</summary>
    [Parameter(ParameterSetName = FromDisk)] [ValidateSet("Virtio", "E1000", "Rtl8139")] public string? NicModel { get; set; }
    /// <summary>The least memory the guest needs, in MiB (16-1048576); an instance type with less memory is refused. Default: the OS template's minimum.</summary>
    [Parameter(ParameterSetName = FromDisk)] [ValidateRange(16, 1048576)] public int? MinMemory { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var request = new ImportImageRequest
        {
            Path = GetUnresolvedProviderPathFromPSPath(Path), Name = Name, OsFamily = OsFamily, OsVariant = OsVariant, Firmware = Firmware,
            VirtioDrivers = VirtioDrivers, DiskBus = DiskBus, NicModel = NicModel, MinMemoryMiB = MinMemory, Hosts = SelectHosts(inv),
        };
        var scope = Scope(inv);
        if (RunAsync(ct => ImageOperations.ImportAsync(scope, request, ct), Path) is { } image) WriteObject(image);
    }
}
