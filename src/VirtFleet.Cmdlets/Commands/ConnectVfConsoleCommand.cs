using System.Management.Automation;
using VirtFleet.Consoles;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Opens an instance's graphical (VNC) console on a local port, forwarded over the host's SSH connection.</para>
/// <para type="description">The guest's VNC listens on its host's loopback only; this forwards a local loopback port (chosen
/// by the system) over the session's pooled SSH connection to it, and returns the endpoint: open its Uri (or Address and Port)
/// in a VNC viewer. Nothing is opened on the host's network. The port closes with the session, with Disconnect-VfHost, or
/// with the endpoint's Close().</para>
/// <example><code>$console = Connect-VfConsole -Instance win1; vncviewer "127.0.0.1::$($console.Port)"</code></example>
/// <example><code>Get-VfImageBuild win2k8r2 | ForEach-Object { Connect-VfConsole -Instance $_.Name }</code></example>
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "VfConsole", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
[OutputType(typeof(ConsoleEndpoint))]
public sealed class ConnectVfConsoleCommand : VfFleetCmdlet
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
                if (!scope.Report.ShouldProcess($"{i.Name} on {i.Host}", "Forward a local port to the instance's VNC console")) continue;
                try { var e = await ConsoleOperations.ConnectAsync(scope, i, ct); Post(() => WriteObject(e)); }
                catch (VfException e) { scope.Report.Failure(e); }
            }
        });
        base.EndProcessing();
    }
}
