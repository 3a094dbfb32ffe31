using System.Net;
using System.Net.Sockets;
using VirtFleet.Libvirt;
using VirtFleet.Networking;

namespace VirtFleet.Operations;

/// <summary>What New-VfNetwork (and a playbook's network) asks for: a network on <paramref name="Hosts"/> (host names).</summary>
public sealed record NewNetworkRequest(string Name, NetworkMode Mode, IReadOnlyList<string> Hosts, string? Subnet = null, bool Span = false,
    string? Bridge = null, string? Description = null);

/// <summary>What Repair-VfNetwork asks for: the hosts to check and repair (only check when the ShouldProcess question says no).</summary>
public sealed record RepairNetworkRequest(IReadOnlyList<string> Hosts, bool Force = false);

/// <summary>
/// The fleet's networks: list, create (a libvirt network on each of its hosts, joined by VXLAN with a span, or an existing
/// bridge), remove (refused while an instance uses it), and repair what hosts lost of the fleet's networking.
/// </summary>
public static class NetworkOperations
{
    /// <summary>
    /// The networks whose names match <paramref name="names"/> (wildcards; all when null), each given to
    /// <paramref name="onResult"/> as well; then each exact name that matched nothing is one NetworkNotFound failure.
    /// </summary>
    public static async Task<IReadOnlyList<VfNetwork>> GetAsync(FleetScope scope, IReadOnlyList<string>? names, CancellationToken ct,
        Action<VfNetwork>? onResult = null)
    {
        var read = await new FleetNetworking(scope).ReadAsync(ct);
        var found = read.Fleet.Networks.Where(n => names is null || names.Any(x => Wildcard.IsMatch(n.Name, x))).ToList();
        foreach (var n in found) onResult?.Invoke(n);
        foreach (var x in (names ?? []).Where(x => !Wildcard.HasWildcards(x) && read.Fleet.FindNetwork(x) is null))
            scope.Report.Failure(FleetNetworking.NotFound("Network", x));
        return found;
    }

    /// <summary>
    /// Creates a network on the request's hosts: stored on every host (networks.json), then, for Nat and Isolated, made on
    /// each of its hosts. The same definition again returns the existing network; another one by that name is NetworkExists.
    /// Null when the ShouldProcess question was answered no. Bad input and hosts that do not answer throw (nothing made).
    /// </summary>
    public static async Task<VfNetwork?> NewAsync(FleetScope scope, NewNetworkRequest request, CancellationToken ct)
    {
        var name = request.Name;
        try
        {
            Names.ValidateNetworkName(name);
            if (request.Subnet is not null) VfNetwork.ParseSubnet(request.Subnet);
            if (request.Bridge is not null) Names.ValidateBridgeName(request.Bridge);
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, name); }
        var hosts = request.Hosts.ToList();
        if (hosts.Count == 0) throw new VfException("NoHosts", FailureKind.ObjectNotFound, "No host selected for the network.", name);
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var missing = hosts.Where(h => !read.Live.ContainsKey(h)).ToList();
        if (missing.Count > 0)
            throw new VfException("HostUnavailable", FailureKind.ResourceUnavailable,
                $"The network's hosts {string.Join(", ", missing)} did not answer; nothing was created.", name);
        VfNetwork net;
        try
        {
            var existing = read.Fleet.FindNetwork(name);
            net = new VfNetwork(name, request.Mode, request.Subnet is null ? null : VfNetwork.ParseSubnet(request.Subnet), hosts, request.Span,
                existing?.Id ?? FleetNetworking.FreeNetworkId(read.Fleet), request.Bridge, request.Description);
            if (existing is not null)
            {
                if (existing.Mode == net.Mode && existing.Subnet == net.Subnet && existing.Span == net.Span && existing.Hosts.SequenceEqual(net.Hosts)
                    && existing.Bridge == net.Bridge)
                {
                    scope.Report.Verbose($"network {name} exists with this definition");
                    return existing;
                }
                throw new VfException("NetworkExists", FailureKind.ResourceExists, $"A network '{name}' exists with another definition ({existing.Mode} {existing.Subnet}).", name);
            }
            NetworkStore.CheckNetworks([.. read.Fleet.Networks, net]);
            if (net.Subnet is { } subnet)
                foreach (var (host, live) in read.Live.Where(l => hosts.Contains(l.Key)))
                {
                    foreach (var (iface, cidr) in live.Addresses)
                        if (VfNetwork.InterfaceNetwork(cidr) is { } used && NetworkStore.Overlaps(used, subnet))
                            throw new VfException("SubnetInUse", FailureKind.ResourceExists, $"{host}: {subnet} overlaps {cidr} on {iface}.", name);
                }
            if (net.Mode == NetworkMode.Bridged)
                foreach (var (host, live) in read.Live.Where(l => hosts.Contains(l.Key)))
                    if (!live.Links.ContainsKey(net.Bridge))
                        throw new VfException("BridgeNotFound", FailureKind.ObjectNotFound, $"{host}: there is no bridge {net.Bridge}.", name);
            if (net.Span) ValidateSpan(read, net);
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, name); }

        if (!scope.Report.ShouldProcess($"{name} ({request.Mode} {net.Subnet}{(request.Span ? ", spanning" : "")}) on {string.Join(", ", hosts)}", "Create network"))
            return null;
        var networks = read.Fleet.Networks.Append(net).ToList();
        await networking.SaveNetworksAsync(read, networks, ct);
        if (net.IsLibvirtNetwork)
            await networking.ReconcileAsync(read, FleetNetworking.With(read.Fleet, networks: networks), hosts, useKnownState: true, checkOnly: false, ct);
        return net;
    }

    static void ValidateSpan(FleetNetworkRead read, VfNetwork net)
    {
        foreach (var h in net.Hosts)
            if (!IPAddress.TryParse(read.Addresses[h], out var a) || a.AddressFamily != AddressFamily.InterNetwork)
                throw new VfException("SpanNeedsIPv4HostAddress", FailureKind.InvalidArgument,
                    $"-Span joins hosts over VXLAN to their inventory addresses: {h} has '{read.Addresses[h]}', not an IPv4 address.", h);
    }

    /// <summary>
    /// Removes networks: each from its hosts (libvirt network, VXLAN link, DHCP folder), then from the definitions. A name that
    /// is not there is NetworkNotFound, a network an instance uses NetworkInUse; one not removed from every host keeps its
    /// definition (a warning) so the removal can run again. Returns the names removed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RemoveAsync(FleetScope scope, IReadOnlyList<string> names, CancellationToken ct)
    {
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var networks = read.Fleet.Networks.ToList();
        var removed = new List<string>();
        foreach (var name in names.Distinct())
        {
            var net = networks.FirstOrDefault(n => n.Name == name);
            if (net is null) { scope.Report.Failure(FleetNetworking.NotFound("Network", name)); continue; }
            var users = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata?.Networks.Contains(name) == true
                    || d.Info.Interfaces.Any(i => i.Source == name || (i.Type == "bridge" && net.Mode == NetworkMode.Bridged && i.Source == net.Bridge && d.Info.Metadata?.Networks.Contains(name) == true)))
                .Select(d => $"{d.Info.Name} on {l.Key}"))
                .Concat(net.Reservations.Select(r => $"{r.Instance} (reserved {r.Address})")).Distinct().ToList();
            if (users.Count > 0)
            {
                scope.Report.Failure(new VfException("NetworkInUse", FailureKind.InvalidOperation,
                    $"Network '{name}' is in use by {string.Join(", ", users)}; remove those instances first.", name));
                continue;
            }
            if (!scope.Report.ShouldProcess($"{name} on {string.Join(", ", net.Hosts)}", "Remove network")) continue;
            if (net.IsLibvirtNetwork)
            {
                var hosts = read.Hosts.Where(h => net.Hosts.Contains(h.Name)).ToList();
                var done = await scope.ForEachHostAsync(hosts, $"Removing network {name}", async (remote, c) =>
                {
                    var warning = await NetworkReconciler.RemoveNetworkAsync(remote, net, c);
                    if (warning is not null) scope.Report.Warning($"{remote.Host.Name}: {warning}");
                    return true;
                }, ct);
                if (done.Count < hosts.Count || hosts.Count < net.Hosts.Count)
                {
                    scope.Report.Warning($"Network '{name}' was not removed from every host; its definition is kept so Remove-VfNetwork can run again.");
                    continue;
                }
            }
            networks.Remove(net);
            removed.Add(name);
        }
        if (networks.Count != read.Fleet.Networks.Count) await networking.SaveNetworksAsync(read, networks, ct);
        return removed;
    }

    /// <summary>
    /// Compares each of the request's hosts with the fleet's definitions and, when the ShouldProcess question says yes, first
    /// brings a host that missed a write up to date and then re-applies only what differs. Returns one report per host
    /// (given to <paramref name="onReport"/> as each host answers).
    /// </summary>
    public static async Task<IReadOnlyList<NetworkHostReport>> RepairAsync(FleetScope scope, RepairNetworkRequest request, CancellationToken ct,
        Action<NetworkHostReport>? onReport = null)
    {
        var networking = new FleetNetworking(scope);
        var selected = request.Hosts.ToHashSet();
        var read = await networking.ReadAsync(ct);
        var checkOnly = !scope.Report.ShouldProcess(string.Join(", ", selected.Order()), "Repair host networking");
        // A host that missed a write (it was down) gets the fleet's newest copies before its firewall is compared.
        if (!checkOnly) await networking.CatchUpDocumentsAsync(read, selected, ct);
        var reports = new List<NetworkHostReport>();
        await networking.ReconcileAsync(read, read.Fleet, selected, useKnownState: true, checkOnly, ct, r => { reports.Add(r); onReport?.Invoke(r); }, request.Force);
        return reports;
    }
}
