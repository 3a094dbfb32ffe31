using System.Management.Automation;
using VirtFleet.Libvirt;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Creates a network that instances join: a libvirt network on each of its hosts (Nat, Isolated), or an existing host bridge (Bridged).</para>
/// <para type="description">Nat and Isolated networks get a bridge vfn&lt;id&gt; with DHCP (libvirt's dnsmasq) on each host. With -Span the
/// hosts' bridges are joined by VXLAN (VNI = the network id, over the hosts' inventory addresses, one flood entry per other host) into
/// one LAN with one address plan: each host has its own gateway address, and each instance a stable address reserved for its MAC,
/// served only by its own host's dnsmasq. The definition is stored on every host (networks.json); re-running with the same
/// definition returns the existing network.</para>
/// <example><code>New-VfNetwork -Name app -Mode Nat -Subnet 203.0.113.128/28 -Span</code></example>
/// <example><code>New-VfNetwork -Name backend -Mode Isolated -Subnet 203.0.113.144/28 -Host vfh1, vfh2 -Span</code></example>
/// <example><code>New-VfNetwork -Name lan -Mode Bridged -Bridge br0</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(VfNetwork))]
public sealed class NewVfNetworkCommand : VfNetworkCmdlet
{
    /// <summary>The network's name, unique in the fleet (letters, digits, '.', '_', '-').</summary>
    [Parameter(Mandatory = true, Position = 0)]
    public string Name { get; set; } = "";

    /// <summary>Nat (private subnet, outbound NAT through each host), Isolated (private subnet, no way out) or Bridged (instances on an existing host bridge, -Bridge).</summary>
    [Parameter(Mandatory = true)]
    public NetworkMode Mode { get; set; }

    /// <summary>IPv4 subnet in CIDR form (Nat, Isolated): gateways of the hosts first, instances after.</summary>
    [Parameter]
    public string? Subnet { get; set; }

    /// <summary>Join the network's bridges on all its hosts with VXLAN into one LAN.</summary>
    [Parameter]
    public SwitchParameter Span { get; set; }

    /// <summary>Bridged: the existing host bridge on the physical network.</summary>
    [Parameter]
    public string? Bridge { get; set; }

    /// <summary>Free text shown by Get-VfNetwork. Default: none.</summary>
    [Parameter]
    public string? Description { get; set; }

    protected override void EndProcessing()
    {
        try
        {
            Names.ValidateNetworkName(Name);
            if (Subnet is not null) VfNetwork.ParseSubnet(Subnet);
            if (Bridge is not null) Names.ValidateBridgeName(Bridge);
        }
        catch (VfException ex) { ThrowFailure(ex, Name); return; }
        var inv = LoadInventory();
        var options = Options(inv);
        var hosts = SelectHosts(inv).Select(h => h.Name).ToList();
        if (hosts.Count == 0) { ThrowFailure(new VfException("NoHosts", FailureKind.ObjectNotFound, "No host selected for the network.", Name)); return; }
        var read = ReadFleet(inv, options);
        var missing = hosts.Where(h => !read.Live.ContainsKey(h)).ToList();
        if (missing.Count > 0)
        {
            ThrowFailure(new VfException("HostUnavailable", FailureKind.ResourceUnavailable,
                $"The network's hosts {string.Join(", ", missing)} did not answer; nothing was created.", Name));
            return;
        }
        VfNetwork net;
        try
        {
            var existing = read.Fleet.FindNetwork(Names.ValidateNetworkName(Name));
            var id = existing?.Id ?? Enumerable.Range(VfNetwork.MinId, VfNetwork.MaxId - VfNetwork.MinId).First(i => read.Fleet.Networks.All(n => n.Id != i));
            net = new VfNetwork(Name, Mode, Subnet is null ? null : VfNetwork.ParseSubnet(Subnet), hosts, Span, id, Bridge, Description);
            if (existing is not null)
            {
                if (existing.Mode == net.Mode && existing.Subnet == net.Subnet && existing.Span == net.Span && existing.Hosts.SequenceEqual(net.Hosts)
                    && existing.Bridge == net.Bridge)
                {
                    WriteVerbose($"network {Name} exists with this definition");
                    WriteObject(existing);
                    base.EndProcessing();
                    return;
                }
                throw new VfException("NetworkExists", FailureKind.ResourceExists, $"A network '{Name}' exists with another definition ({existing.Mode} {existing.Subnet}).", Name);
            }
            NetworkStore.CheckNetworks([.. read.Fleet.Networks, net]);
            if (net.Subnet is { } subnet)
                foreach (var (host, live) in read.Live.Where(l => hosts.Contains(l.Key)))
                {
                    foreach (var (iface, cidr) in live.Addresses)
                        if (VfNetwork.InterfaceNetwork(cidr) is { } used && NetworkStore.Overlaps(used, subnet))
                            throw new VfException("SubnetInUse", FailureKind.ResourceExists, $"{host}: {subnet} overlaps {cidr} on {iface}.", Name);
                }
            if (net.Mode == NetworkMode.Bridged)
                foreach (var (host, live) in read.Live.Where(l => hosts.Contains(l.Key)))
                    if (!live.Links.ContainsKey(net.Bridge))
                        throw new VfException("BridgeNotFound", FailureKind.ObjectNotFound, $"{host}: there is no bridge {net.Bridge}.", Name);
            if (net.Span) ValidateSpan(read, net);
        }
        catch (VfException ex) { ThrowFailure(ex, Name); return; }

        if (!ShouldProcess($"{Name} ({Mode} {net.Subnet}{(Span ? ", spanning" : "")}) on {string.Join(", ", hosts)}", "Create network")) return;
        var networks = read.Fleet.Networks.Append(net).ToList();
        SaveNetworks(read, options, networks);
        if (net.IsLibvirtNetwork)
            Reconcile(read, With(read.Fleet, networks: networks), hosts, options, useKnownState: true, checkOnly: false);
        WriteObject(net);
        base.EndProcessing();
    }

    static void ValidateSpan(FleetRead read, VfNetwork net)
    {
        foreach (var h in net.Hosts)
            if (!System.Net.IPAddress.TryParse(read.Addresses[h], out var a) || a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                throw new VfException("SpanNeedsIPv4HostAddress", FailureKind.InvalidArgument,
                    $"-Span joins hosts over VXLAN to their inventory addresses: {h} has '{read.Addresses[h]}', not an IPv4 address.", h);
    }
}
