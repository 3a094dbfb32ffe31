using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes a network: its libvirt network and VXLAN link on each of its hosts, and its definition.</para>
/// <para type="description">Refused while an instance uses it (a NIC on it or an address reserved in it). Bridged networks leave the host bridge alone.</para>
/// <example><code>Remove-VfNetwork app</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfNetworkCommand : VfNetworkCmdlet
{
    /// <summary>Names of VirtFleet networks to remove (from every host).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = [];

    private readonly List<string> _names = [];

    protected override void ProcessRecord() => _names.AddRange(Name);

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        var networks = read.Fleet.Networks.ToList();
        foreach (var name in _names.Distinct())
        {
            var net = networks.FirstOrDefault(n => n.Name == name);
            if (net is null) { WriteFailure(NotFound("Network", name), name); continue; }
            var users = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata?.Networks.Contains(name) == true
                    || d.Info.Interfaces.Any(i => i.Source == name || (i.Type == "bridge" && net.Mode == NetworkMode.Bridged && i.Source == net.Bridge && d.Info.Metadata?.Networks.Contains(name) == true)))
                .Select(d => $"{d.Info.Name} on {l.Key}"))
                .Concat(net.Reservations.Select(r => $"{r.Instance} (reserved {r.Address})")).Distinct().ToList();
            if (users.Count > 0)
            {
                WriteFailure(new VfException("NetworkInUse", FailureKind.InvalidOperation,
                    $"Network '{name}' is in use by {string.Join(", ", users)}; remove those instances first.", name), name);
                continue;
            }
            if (!ShouldProcess($"{name} on {string.Join(", ", net.Hosts)}", "Remove network")) continue;
            if (net.IsLibvirtNetwork)
            {
                var hosts = read.Hosts.Where(h => net.Hosts.Contains(h.Name)).ToList();
                var ok = 0;
                ForEachHost(hosts, options, $"Removing network {name}", async (remote, ct) =>
                {
                    var warning = await NetworkReconciler.RemoveNetworkAsync(remote, net, ct);
                    if (warning is not null) PostWarning($"{remote.Host.Name}: {warning}");
                    return true;
                }, (_, _) => ok++);
                if (ok < hosts.Count || hosts.Count < net.Hosts.Count)
                {
                    WriteWarning($"Network '{name}' was not removed from every host; its definition is kept so Remove-VfNetwork can run again.");
                    continue;
                }
            }
            networks.Remove(net);
        }
        if (networks.Count != read.Fleet.Networks.Count) SaveNetworks(read, options, networks);
        base.EndProcessing();
    }
}
