using System.Management.Automation;
using VirtFleet.ImageBuilds;
using VirtFleet.Libvirt;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Starts an image build from an OS installation ISO (and a driver ISO) on one host.</para>
/// <para type="description">The ISOs are uploaded to the host only where missing (by checksum, to a temporary name, verified, then
/// renamed), and a build domain is defined and started with its block devices in this order: a new empty root disk (virtio, or the
/// OS template's SATA/IDE bus when the OS has no virtio drivers and no -DriverIso is given), the OS ISO as the first CD-ROM, the
/// driver ISO as the second, an -Unattended answer file's CD-ROM last. It boots from the disk, then the CD-ROM: the empty disk
/// falls through to the installer once, the installed system boots from the disk after. Install the OS over its console
/// (Connect-VfConsole, Get-VfConsoleOutput), then turn the root disk into an image with Complete-VfImageBuild.</para>
/// <example><code>New-VfImageBuild -Iso ./Win2k8R2.iso -DriverIso ./virtio-win.iso -OsFamily Windows -OsVariant win2k8r2 -DiskGiB 40 -Name win2k8r2 -Host hv1</code></example>
/// <example><code>New-VfImageBuild -Iso ./debian-12-netinst.iso -OsFamily Linux -OsVariant debian -DiskGiB 8 -Unattended ./preseed.cfg</code></example>
/// <example><code>New-VfImageBuild -Iso ./SW_DVD_Server_2019.iso -DriverIso ./virtio-win.iso -CloudbaseInitMsi ./CloudbaseInitSetup_x64.msi -OsFamily Windows -OsVariant win2k19 -DiskGiB 40 -Name win2k19; Complete-VfImageBuild win2k19 -Wait</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfImageBuild", SupportsShouldProcess = true)]
[OutputType(typeof(ImageBuild))]
public sealed class NewVfImageBuildCommand : VfFleetCmdlet
{
    /// <summary>The OS installation ISO (a local file): the build's first CD-ROM.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Iso { get; set; } = "";

    /// <summary>A driver ISO (a local file, e.g. virtio-win): the build's second CD-ROM; the image is then recorded as carrying virtio drivers and the root disk is virtio. Default: none.</summary>
    [Parameter] public string? DriverIso { get; set; }

    /// <summary>An answer file (autounattend.xml, a preseed or kickstart file): put under its own name on a small CD-ROM (label OEMDRV) after the others. Default: none.</summary>
    [Parameter] public string? Unattended { get; set; }

    /// <summary>Generate a Windows answer file (win2k8r2 to win2k22, by -OsVariant) and install cloudbase-init from this MSI (a local file): setup loads the virtio drivers from -DriverIso, enables RDP and ICMP, installs cloudbase-init, and ends with sysprep /generalize /oobe /shutdown, so Complete-VfImageBuild can take the image without a console session. Not with -Unattended. Default: none.</summary>
    [Parameter] public string? CloudbaseInitMsi { get; set; }

    /// <summary>The product key for a generated answer file. Default: none (volume-licensed and evaluation media need none).</summary>
    [Parameter] public string? ProductKey { get; set; }

    /// <summary>The Windows locale of a generated answer file (e.g. en-US, de-DE). Default: en-US.</summary>
    [Parameter] public string Locale { get; set; } = "en-US";

    /// <summary>The guest OS family: Windows or Linux; picks the domain template and becomes the image's.</summary>
    [Parameter(Mandatory = true)]
    [ValidateSet("Windows", "Linux")]
    public string OsFamily { get; set; } = "Linux";

    /// <summary>The OS variant (osinfo short id, e.g. win2k8r2, debian); refines the template's defaults and becomes the image's. Default: none.</summary>
    [Parameter] public string? OsVariant { get; set; }

    /// <summary>The new root disk's size in GiB (1-65536).</summary>
    [Parameter(Mandatory = true)]
    [ValidateRange(1, 65536)]
    public int DiskGiB { get; set; }

    /// <summary>The build's name (its domain's, and by default the image's). Default: the ISO's file name without extension.</summary>
    [Parameter] public string? Name { get; set; }

    /// <summary>The build's memory in MiB (64-1048576). Default: 1024, or the OS template's minimum when larger.</summary>
    [Parameter] [ValidateRange(64, 1048576)] public int MemoryMiB { get; set; }

    /// <summary>The build's vCPUs (1-64). Default: 1.</summary>
    [Parameter] [ValidateRange(1, 64)] public int CpuCount { get; set; } = 1;

    /// <summary>The guest firmware: Bios or Uefi; becomes the image's. Default: the OS template's (Bios).</summary>
    [Parameter] [ValidateSet("Bios", "Uefi")] public string? Firmware { get; set; }

    /// <summary>The root disk's bus: Virtio, Sata, Ide or Scsi; becomes the image's. Default: Virtio when the OS has virtio drivers or -DriverIso is given, else the OS template's (Sata).</summary>
    [Parameter] [ValidateSet("Virtio", "Sata", "Ide", "Scsi")] public string? DiskBus { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var iso = GetUnresolvedProviderPathFromPSPath(Iso);
        var request = new ImageBuildRequest
        {
            Name = Name ?? ImageBuildOperations.DefaultName(iso), Iso = iso,
            DriverIso = DriverIso is null ? null : GetUnresolvedProviderPathFromPSPath(DriverIso),
            Unattended = Unattended is null ? null : GetUnresolvedProviderPathFromPSPath(Unattended),
            WindowsSetup = CloudbaseInitMsi is null ? null : new WindowsSetup(GetUnresolvedProviderPathFromPSPath(CloudbaseInitMsi), ProductKey, Locale),
            OsFamily = OsFamily, OsVariant = OsVariant, DiskGiB = DiskGiB, MemoryMiB = MemoryMiB, Vcpus = CpuCount,
            Firmware = Firmware, DiskBus = DiskBus is null ? null : Enum.Parse<DiskBus>(DiskBus, ignoreCase: true),
            Hosts = SelectHosts(inv), Profiles = TemplatePaths.LoadProfiles(this),
        };
        var scope = Scope(inv);
        if (RunAsync(ct => ImageBuildOperations.NewAsync(scope, request, ct), request.Name) is { } build)
        {
            build.Inventory = inv.Path;
            WriteObject(build);
        }
    }
}
