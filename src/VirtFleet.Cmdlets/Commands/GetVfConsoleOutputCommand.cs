using System.Management.Automation;
using VirtFleet.Consoles;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Shows the serial console output of instances, as their hosts keep it (like euca-get-console-output).</para>
/// <para type="description">libvirt logs each instance's serial console to console.log in the instance's folder on its host
/// (appended across restarts); this reads its last -Tail bytes. The text is in the Output property (shown by the default view).
/// Instances made before VirtFleet kept the log have none.</para>
/// <example><code>Get-VfConsoleOutput -Instance web1</code></example>
/// <example><code>(Get-VfInstance web* | Get-VfConsoleOutput -Tail 4KB).Output</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfConsoleOutput", DefaultParameterSetName = ByName)]
[OutputType(typeof(ConsoleOutput))]
public sealed class GetVfConsoleOutputCommand : VfFleetCmdlet
{
    private const string ByName = "ByName";
    private const string ByObject = "ByObject";

    /// <summary>Instances as Get-VfInstance returns them (from the pipeline).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [Alias("Name")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Instance { get; set; } = [];

    /// <summary>How much of the log's end to read, in bytes (1 to 4 MiB). Default: 64 KiB.</summary>
    [Parameter] [ValidateRange(1, ConsoleOperations.MaxBytes)] public int Tail { get; set; } = 64 << 10;

    private readonly List<Instance> _targets = [];
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Instance);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_targets.Select(t => t.Inventory));
        var scope = Scope(inv);
        var hosts = _names.Count > 0 ? SelectHosts(inv) : [];
        RunAsync(async ct =>
        {
            foreach (var i in await ConsoleOperations.FindAsync(scope, _targets, _names, hosts, ct))
            {
                try { var o = await ConsoleOperations.GetOutputAsync(scope, i, Tail, ct); Post(() => WriteObject(o)); }
                catch (VfException e) { scope.Report.Failure(e); }
            }
        });
        base.EndProcessing();
    }
}
