using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Associates a public address with an instance (moving it from another instance in the same call), or disassociates it.</para>
/// <para type="description">The address goes onto the outside interface of the instance's host; traffic to it is DNATed to the instance's
/// address in its network, and the instance's outgoing traffic leaves from it (SNAT), in VirtFleet's own nat chains (VF-PREROUTING,
/// VF-POSTROUTING) written atomically with iptables-restore --noflush. The instance's security groups still decide what gets in.
/// An instance holds at most one public address: one it held before is disassociated.</para>
/// <example><code>Set-VfAddress 203.0.113.200 -Instance web1</code></example>
/// <example><code>Set-VfAddress 203.0.113.200 -Instance web2   # moves it</code></example>
/// <example><code>Set-VfAddress 203.0.113.200 -Disassociate</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "VfAddress", SupportsShouldProcess = true, DefaultParameterSetName = Associate)]
[OutputType(typeof(PublicAddress))]
public sealed class SetVfAddressCommand : VfNetworkCmdlet
{
    private const string Associate = "Associate";
    private const string Detach = "Disassociate";

    /// <summary>A public IPv4 address of the fleet's pool (New-VfAddress).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(AddressCompleter))]
    public string Address { get; set; } = "";

    /// <summary>The instance (name or id) to associate the address with.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = Associate)]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string Instance { get; set; } = "";

    /// <summary>The instance's network to forward to (default: its first network with a known address).</summary>
    [Parameter(ParameterSetName = Associate)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string? Network { get; set; }

    /// <summary>Take the address off its instance and host; it stays in the fleet's pool.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Detach)]
    public SwitchParameter Disassociate { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        var current = read.Fleet.Addresses.FirstOrDefault(a => a.Address == Address);
        if (current is null) { ThrowFailure(NotFound("Address", Address), Address); return; }
        PublicAddress updated;
        if (Disassociate) updated = current.Disassociate();
        else
        {
            try { updated = Resolve(read, current); }
            catch (VfException ex) { ThrowFailure(ex, Instance); return; }
        }
        if (updated == current) { WriteVerbose($"{Address} is already so"); WriteObject(current); base.EndProcessing(); return; }
        if (!ShouldProcess(Address, Disassociate ? $"Disassociate from {current.Instance}" : $"Associate with {Instance} on {updated.Host}")) return;
        var addresses = read.Fleet.Addresses.Select(a => a.Address == Address ? updated
            : !Disassociate && a.Instance == updated.Instance && a.Host == updated.Host ? a.Disassociate() : a).ToList();
        SaveAddresses(read, options, read.Fleet.Pool, addresses);
        var hosts = new[] { current.Host, updated.Host }.Concat(read.Fleet.Addresses.Where(a => a.Instance == updated.Instance && a.Instance is not null).Select(a => a.Host))
            .OfType<string>().Distinct();
        Reconcile(read, With(read.Fleet, addresses: addresses), hosts, options, useKnownState: true, checkOnly: false);
        WriteObject(updated);
        base.EndProcessing();
    }

    PublicAddress Resolve(FleetRead read, PublicAddress current)
    {
        var found = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata is not null && (d.Info.Name == Instance || d.Info.Metadata.InstanceId == Instance))
            .Select(d => (Host: l.Key, Domain: d.Info, Live: l.Value))).ToList();
        if (found.Count == 0) throw NotFound("Instance", Instance);
        if (found.Count > 1) throw new VfException("AmbiguousInstance", FailureKind.InvalidArgument, $"Instance '{Instance}' exists on {string.Join(", ", found.Select(f => f.Host))}.", Instance);
        var (host, domain, live) = found[0];
        foreach (var nic in domain.Interfaces.Where(i => i.Mac is not null && i.Source is not null))
        {
            var net = nic.Source!;
            var vfNet = read.Fleet.Networks.FirstOrDefault(n => n.Name == net || (n.Mode == NetworkMode.Bridged && n.Bridge == net));
            if (Network is not null && Network != net && Network != vfNet?.Name) continue;
            var mac = nic.Mac!.ToLowerInvariant();
            var ip = vfNet?.Reservations.FirstOrDefault(r => r.Mac == mac)?.Address ?? live.LeasesByMac.GetValueOrDefault(mac);
            if (ip is null) continue;
            return current.Associate(domain.Name, domain.Metadata!.InstanceId, host, vfNet?.Name ?? net, ip);
        }
        throw new VfException("InstanceHasNoAddress", FailureKind.InvalidOperation,
            $"Instance '{Instance}' has no known address{(Network is null ? "" : $" in network {Network}")} to forward to (no reservation or DHCP lease).", Instance);
    }
}
