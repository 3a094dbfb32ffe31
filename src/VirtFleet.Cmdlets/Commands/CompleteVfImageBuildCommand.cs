using System.Management.Automation;
using VirtFleet.ImageBuilds;
using VirtFleet.Images;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Completes image builds: waits for the guest's own power-off, turns the root disk into a catalog image, removes the build.</para>
/// <para type="description">The guest is asked to shut down (ACPI) and awaited up to -Timeout seconds (-Force powers it off at
/// once). Its root disk, checked to be a disk of the domain and never a CD-ROM, is copied by qemu-img (compacted, without
/// backing file) into the host's image store as a new image carrying the build's OS family and variant, firmware, disk bus and,
/// when a driver ISO was given, virtio drivers. Then the build's domain and the files VirtFleet made for it are removed; the
/// cached ISOs stay for the next build. The image is on the build's host; New-VfInstance places instances there.</para>
/// <example><code>Complete-VfImageBuild -Name win2k8r2</code></example>
/// <example><code>Get-VfImageBuild debian* | Complete-VfImageBuild -Timeout 600</code></example>
/// </summary>
[Cmdlet("Complete", "VfImageBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
[OutputType(typeof(ImageInfo))]
public sealed class CompleteVfImageBuildCommand : VfFleetCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";

    /// <summary>Builds as Get-VfImageBuild returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public ImageBuild[] Build { get; set; } = [];

    /// <summary>Build names (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    public string[] Name { get; set; } = [];

    /// <summary>The image's name (one build only). Default: the build's name.</summary>
    [Parameter] public string? ImageName { get; set; }

    /// <summary>Seconds to wait for the guest's own power-off (1-86400). Default: 300.</summary>
    [Parameter] [ValidateRange(1, 86400)] public int Timeout { get; set; } = 300;

    /// <summary>Power the guest off at once instead of waiting for it.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    private readonly List<ImageBuild> _builds = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _builds.AddRange(Build);
        else _names.AddRange(Name);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_builds.Select(t => t.Inventory));
        var request = new CompleteImageBuildRequest
        {
            Builds = _builds, Names = _names, SearchHosts = _names.Count > 0 ? SelectHosts(inv) : [],
            ImageName = ImageName, TimeoutSeconds = Timeout, Force = Force,
        };
        var scope = Scope(inv);
        RunAsync(ct => ImageBuildOperations.CompleteAsync(scope, request, ct, image => Post(() =>
        {
            Session.Known.SawImage(image.Name);
            WriteObject(image);
        })));
        base.EndProcessing();
    }
}
