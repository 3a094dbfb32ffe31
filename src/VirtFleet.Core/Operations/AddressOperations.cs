using VirtFleet.Networking;

namespace VirtFleet.Operations;

/// <summary>What New-VfAddress asks for: ranges added to the pool, and a specific address (else the pool's lowest free one).</summary>
public sealed record NewAddressRequest(string? Address = null, IReadOnlyList<string>? Pool = null, string? Interface = null);

/// <summary>What Set-VfAddress asks for: the address on an instance (name or id; through one of its networks), or off its instance.</summary>
public sealed record SetAddressRequest(string Address, string? Instance = null, string? Network = null, bool Disassociate = false);

/// <summary>
/// The fleet's public addresses: list, allocate from the pool, associate with an instance (DNAT/SNAT on its host) or
/// disassociate, and release. Each change is stored on every host (addresses.json) and applied on the hosts concerned.
/// </summary>
public static class AddressOperations
{
    /// <summary>The addresses matching <paramref name="addresses"/> and associated with <paramref name="instances"/> (wildcards; null: any).</summary>
    public static async Task<IReadOnlyList<PublicAddress>> GetAsync(FleetScope scope, IReadOnlyList<string>? addresses, IReadOnlyList<string>? instances,
        CancellationToken ct)
    {
        var read = await new FleetNetworking(scope).ReadAsync(ct);
        return read.Fleet.Addresses.Where(a => (addresses is null || addresses.Any(x => Wildcard.IsMatch(a.Address, x)))
            && (instances is null || (a.Instance is { } i && instances.Any(x => Wildcard.IsMatch(i, x))))).ToList();
    }

    /// <summary>
    /// Adds the request's ranges to the pool and allocates its address (added to the pool when outside it) or the pool's
    /// lowest free one. Null when the ShouldProcess question was answered no.
    /// </summary>
    public static async Task<PublicAddress?> NewAsync(FleetScope scope, NewAddressRequest request, CancellationToken ct)
    {
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        List<AddressRange> pool;
        PublicAddress address;
        try
        {
            pool = read.Fleet.Pool.Concat((request.Pool ?? []).Select(AddressRange.Parse)).Distinct().ToList();
            var taken = read.Fleet.Addresses.Select(a => a.Address).ToHashSet();
            if (request.Address is { } wanted)
            {
                var ip = PublicAddress.ParseIPv4(wanted, "InvalidPublicAddress");
                if (taken.Contains(wanted))
                    throw new VfException("AddressExists", FailureKind.ResourceExists, $"Public address {wanted} is allocated already.", wanted);
                if (!pool.Any(r => r.Contains(ip))) pool.Add(AddressRange.Parse(wanted));
                address = new PublicAddress(wanted, request.Interface);
            }
            else
            {
                if (pool.Count == 0)
                    throw new VfException("NoAddressPool", FailureKind.ObjectNotFound, "The fleet has no public address pool yet: give -Pool 203.0.113.200-203.0.113.220 (for example).");
                var free = pool.SelectMany(r => r.All()).FirstOrDefault(a => !taken.Contains(a.ToString()))
                    ?? throw new VfException("AddressPoolExhausted", FailureKind.ResourceUnavailable, $"Every address of the pool ({string.Join(", ", pool)}) is allocated.");
                address = new PublicAddress(free.ToString(), request.Interface);
            }
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, request.Address); }
        if (!scope.Report.ShouldProcess(address.Address, "Allocate public address")) return null;
        await networking.SaveAddressesAsync(read, pool, read.Fleet.Addresses.Append(address), ct);
        return address;
    }

    /// <summary>
    /// Associates the address with the request's instance (taking it from the instance it was on, and disassociating another
    /// address that instance held), or disassociates it; then the hosts concerned are reconciled. An address already so is
    /// returned as it is. Null when the ShouldProcess question was answered no.
    /// </summary>
    public static async Task<PublicAddress?> SetAsync(FleetScope scope, SetAddressRequest request, CancellationToken ct)
    {
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var current = read.Fleet.Addresses.FirstOrDefault(a => a.Address == request.Address)
            ?? throw FleetNetworking.NotFound("Address", request.Address);
        PublicAddress updated;
        if (request.Disassociate) updated = current.Disassociate();
        else
        {
            try { updated = Resolve(read, current, request.Instance ?? "", request.Network); }
            catch (VfException ex) { throw FleetNetworking.Retarget(ex, request.Instance); }
        }
        if (updated == current) { scope.Report.Verbose($"{request.Address} is already so"); return current; }
        if (!scope.Report.ShouldProcess(request.Address, request.Disassociate ? $"Disassociate from {current.Instance}" : $"Associate with {request.Instance} on {updated.Host}"))
            return null;
        var addresses = read.Fleet.Addresses.Select(a => a.Address == request.Address ? updated
            : !request.Disassociate && a.Instance == updated.Instance && a.Host == updated.Host ? a.Disassociate() : a).ToList();
        await networking.SaveAddressesAsync(read, read.Fleet.Pool, addresses, ct);
        var hosts = new[] { current.Host, updated.Host }.Concat(read.Fleet.Addresses.Where(a => a.Instance == updated.Instance && a.Instance is not null).Select(a => a.Host))
            .OfType<string>().Distinct();
        await networking.ReconcileAsync(read, FleetNetworking.With(read.Fleet, addresses: addresses), hosts, useKnownState: true, checkOnly: false, ct);
        return updated;
    }

    static PublicAddress Resolve(FleetNetworkRead read, PublicAddress current, string instance, string? network)
    {
        var found = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata is not null && (d.Info.Name == instance || d.Info.Metadata.InstanceId == instance))
            .Select(d => (Host: l.Key, Domain: d.Info, Live: l.Value))).ToList();
        if (found.Count == 0) throw FleetNetworking.NotFound("Instance", instance);
        if (found.Count > 1) throw new VfException("AmbiguousInstance", FailureKind.InvalidArgument, $"Instance '{instance}' exists on {string.Join(", ", found.Select(f => f.Host))}.", instance);
        var (host, domain, live) = found[0];
        foreach (var nic in domain.Interfaces.Where(i => i.Mac is not null && i.Source is not null))
        {
            var net = nic.Source!;
            var vfNet = read.Fleet.Networks.FirstOrDefault(n => n.Name == net || (n.Mode == NetworkMode.Bridged && n.Bridge == net));
            if (network is not null && network != net && network != vfNet?.Name) continue;
            var mac = nic.Mac!.ToLowerInvariant();
            var ip = vfNet?.Reservations.FirstOrDefault(r => r.Mac == mac)?.Address ?? live.LeasesByMac.GetValueOrDefault(mac);
            if (ip is null) continue;
            return current.Associate(domain.Name, domain.Metadata!.InstanceId, host, vfNet?.Name ?? net, ip);
        }
        throw new VfException("InstanceHasNoAddress", FailureKind.InvalidOperation,
            $"Instance '{instance}' has no known address{(network is null ? "" : $" in network {network}")} to forward to (no reservation or DHCP lease).", instance);
    }

    /// <summary>
    /// Releases addresses (an associated one leaves its host: the reconcile removes it and its rules); a missing one is
    /// AddressNotFound. Returns the addresses released.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RemoveAsync(FleetScope scope, IReadOnlyList<string> addresses, CancellationToken ct)
    {
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var list = read.Fleet.Addresses.ToList();
        var hosts = new HashSet<string>();
        var released = new List<string>();
        foreach (var a in addresses.Distinct())
        {
            var found = list.FirstOrDefault(x => x.Address == a);
            if (found is null) { scope.Report.Failure(FleetNetworking.NotFound("Address", a)); continue; }
            if (!scope.Report.ShouldProcess(a + (found.Instance is null ? "" : $" (on {found.Instance})"), "Release public address")) continue;
            list.Remove(found);
            released.Add(a);
            if (found.Host is not null) hosts.Add(found.Host);
        }
        if (list.Count == read.Fleet.Addresses.Count) return released;
        // Pool addresses on a host that no instance holds are removed by the reconcile.
        await networking.SaveAddressesAsync(read, read.Fleet.Pool, list, ct);
        await networking.ReconcileAsync(read, FleetNetworking.With(read.Fleet, addresses: list), hosts, useKnownState: true, checkOnly: false, ct);
        return released;
    }
}
