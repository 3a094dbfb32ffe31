using System.Management.Automation;
using VirtFleet.ImageBuilds;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes image builds without making an image: the build's domain and the files VirtFleet made for it.</para>
/// <para type="description">The root disk and the answer file's CD-ROM go with the build; the cached ISOs stay on the host for
/// the next build.</para>
/// <example><code>Remove-VfImageBuild -Name win2k8r2</code></example>
/// <example><code>Get-VfImageBuild | Remove-VfImageBuild -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfImageBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(ImageBuild))]
public sealed class RemoveVfImageBuildCommand : VfFleetCmdlet
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

    /// <summary>Return the builds that were removed.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

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
        var scope = Scope(inv);
        var hosts = _names.Count > 0 ? SelectHosts(inv) : [];
        RunAsync(ct => ImageBuildOperations.RemoveAsync(scope, _builds, _names, hosts, ct, (b, o) => Post(() =>
        {
            Session.Known.Gone(o.Host, o.Name);
            if (PassThru) WriteObject(b);
        })));
        base.EndProcessing();
    }
}
