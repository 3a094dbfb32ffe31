using System.Management.Automation;
using VirtFleet.Hosts;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Checks hosts over SSH: reachability, libvirt and qemu, hardware virtualization, memory, disk, load.</para>
/// <para type="description">One round trip per host, hosts in parallel. Unreachable hosts produce one error each
/// (ConnectionError, OperationTimeout, SecurityError) and never hold up the others.</para>
/// <example><code>Test-VfHost</code></example>
/// <example><code>Test-VfHost -Host hv* -ConnectTimeout 3 | Where-Object { -not $_.Healthy }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "VfHost")]
[OutputType(typeof(HostFacts))]
public sealed class TestVfHostCommand : VfFleetCmdlet
{
    /// <summary>Host names (wildcards allowed); also bound from pipeline objects' Name.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(HostNameCompleter))]
    public string[]? Name { get; set; }

    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (Name is not null) _names.AddRange(Name);
        else if (Host is not null) _names.AddRange(Host);
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var hosts = inv.Select(_names.Count > 0 ? _names.Distinct() : null, HostTag);
        ForEachHost(hosts, Options(inv), "Testing hosts", HostProbe.ProbeAsync, (_, facts) => WriteObject(facts));
        base.EndProcessing();
    }
}
