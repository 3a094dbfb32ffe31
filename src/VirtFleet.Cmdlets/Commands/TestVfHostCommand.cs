using System.Management.Automation;
using VirtFleet.Hosts;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Checks hosts over SSH: reachability, libvirt and qemu, hardware virtualization, memory, disk, load.</para>
/// <para type="description">One round trip per host, hosts in parallel. Unreachable hosts produce one error each
/// (ConnectionError, OperationTimeout, SecurityError) and never hold up the others.</para>
/// <example><code>Test-VfHost</code></example>
/// <example><code>Test-VfHost -Host hv* -ConnectTimeout 3 | Where-Object { -not $_.Healthy }</code></example>
/// <example><code>(Test-VfHost vfh2 -IncludeNetwork).Problems</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "VfHost")]
[OutputType(typeof(HostFacts))]
public sealed class TestVfHostCommand : VfFleetCmdlet
{
    /// <summary>Host names (wildcards allowed); also bound from piped hosts' Name (a piped instance's Host wins over its Name). Default: every host.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Also compare each host's networking with the fleet's definitions (networks, VXLAN, DHCP reservations,
    /// public addresses, VirtFleet's iptables chains); differences are listed as problems (Repair-VfNetwork fixes them).</summary>
    [Parameter] public SwitchParameter IncludeNetwork { get; set; }

    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        // An instance piped in binds both its Name and its Host: the host is the one to test.
        if (Host is not null) _names.AddRange(Host);
        else if (Name is not null) _names.AddRange(Name);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var hosts = SelectFrom(inv, _names.Count > 0 ? _names.Distinct() : null, HostTag);
        var scope = Scope(inv);
        RunAsync(ct => HostChecks.ProbeAsync(scope, hosts, ct, facts => PostObject(facts), IncludeNetwork));
        base.EndProcessing();
    }
}
