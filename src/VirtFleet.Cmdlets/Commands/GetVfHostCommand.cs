using System.Management.Automation;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the hosts in the inventory; with -Detailed, reads each host's facts over SSH.</para>
/// <example><code>Get-VfHost -Tag rack1</code></example>
/// <example><code>Get-VfHost -Detailed | Format-Table Name, DomainType, MemoryFreeMiB, Instances</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfHost")]
[OutputType(typeof(HostEntry), typeof(HostFacts))]
public sealed class GetVfHostCommand : VfFleetCmdlet
{
    /// <summary>Host names (wildcards allowed). Default: every host in the inventory.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only hosts with all of these tags.</summary>
    [Parameter]
    public string[]? Tag { get; set; }

    /// <summary>Connect to each host and report its facts (as Test-VfHost).</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectFrom(inv, Name ?? Host, Tag ?? HostTag);
        if (!Detailed)
        {
            WriteObject(hosts, enumerateCollection: true);
            return;
        }
        var scope = Scope(inv);
        RunAsync(ct => HostChecks.ProbeAsync(scope, hosts, ct, facts => PostObject(facts), activity: "Reading host facts"));
    }
}
