using VirtFleet.HostScripts;
using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Operations;

/// <summary>What New-VfInstance (or a playbook's instance block) asks for: raw values, checked by the operation.</summary>
public sealed class CreateInstancesRequest
{
    /// <summary>The image to run: from the hosts' image stores or the local cache (copied to hosts that lack it).</summary>
    public required string Image { get; init; }
    /// <summary>Exact instance names, one instance each; when empty, <see cref="Count"/> instances named <see cref="NamePrefix"/>-N or by their instance id.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    public int Count { get; init; } = 1;
    public string? NamePrefix { get; init; }
    public string InstanceType { get; init; } = Model.InstanceType.DefaultName;
    /// <summary>A key pair whose public key goes into the seed.</summary>
    public string? KeyPair { get; init; }
    public string? UserData { get; init; }
    /// <summary>A VirtFleet network or a libvirt network on the hosts; null: the inventory's default network (unless <see cref="NoNetwork"/>).</summary>
    public string? Network { get; init; }
    public bool NoNetwork { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<string> SecurityGroups { get; init; } = [];
    /// <summary>Anti-affinity group: its members never share a host.</summary>
    public string? SpreadGroup { get; init; }
    /// <summary>The playbook that creates the instances (recorded in their metadata; a prune goes by it). Default: none.</summary>
    public InstanceOwner? Owner { get; init; }
    public PlacementStrategy Placement { get; init; } = PlacementStrategy.LeastLoaded;
    /// <summary>Wait until running and, with a network, until each instance has an address.</summary>
    public bool Wait { get; init; }
    public int WaitTimeoutSeconds { get; init; } = 180;
    /// <summary>The hosts the instances may be placed on (names are still checked to be unique on every inventory host).</summary>
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];
    /// <summary>The OS profiles the domains are built from.</summary>
    public required OsProfileCatalog Profiles { get; init; }
}

/// <summary>
/// Runs new instances from an image across the fleet (New-VfInstance, a playbook's creations): reads each host once
/// (capacity, capabilities, image, names, and with networking the fleet's definitions in the same round trip), places the
/// instances (counting what the batch itself takes), reserves their addresses in a VirtFleet network fleet-wide, copies the
/// image to hosts that lack it, then on each host in one round trip makes overlay, seed and domain and starts it, brings the
/// host's networking up to date, and with Wait waits for each to run and get its address. A re-run with the same names
/// converges: existing VirtFleet instances are returned, not duplicated. A failed instance is one failure, the others go on;
/// what stops the whole batch (bad input, no image, no placement, reservations not taken) is thrown.
/// </summary>
public static class CreateInstances
{
    /// <summary>
    /// Creates the instances; <paramref name="onCreated"/> gets each one (created or found existing) as its host finishes
    /// (a worker thread, one host at a time). Returns them all.
    /// </summary>
    public static async Task<IReadOnlyList<Instance>> RunAsync(FleetScope scope, CreateInstancesRequest request, CancellationToken ct,
        Action<Instance>? onCreated = null)
    {
        var inv = scope.Inventory;
        var image = request.Image;
        CreateRequest create;
        List<string> names;
        string? network;
        try
        {
            if (request.NoNetwork && request.Network is not null)
                throw new VfException("NetworkAndNoNetwork", FailureKind.InvalidArgument, "Give either -Network or -NoNetwork, not both.", request.Network);
            network = DefaultNetwork.For(request.Network, request.NoNetwork, inv);
            Names.ValidateInstanceName(image);
            foreach (var t in request.Tags) Names.ValidateTag(t);
            create = new CreateRequest
            {
                Image = image, Type = Model.InstanceType.Find(request.InstanceType), KeyPair = request.KeyPair,
                PublicKeys = request.KeyPair is null ? [] : [KeyPairStore.ReadPublicKey(request.KeyPair)],
                UserData = request.UserData, Network = network is null ? null : Names.ValidateNetworkName(network), Tags = request.Tags,
                SecurityGroups = request.SecurityGroups.Select(SecurityGroup.ValidateName).ToList(),
                SpreadGroup = request.SpreadGroup is null ? null : Names.ValidateTag(request.SpreadGroup), Owner = request.Owner,
            };
            names = request.Names.Count > 0
                ? request.Names.Select(n => Names.ValidateInstanceName(n)).ToList()
                : Enumerable.Range(1, request.Count).Select(i => request.NamePrefix is null ? "" : Names.ValidateInstanceName($"{request.NamePrefix}-{i}")).ToList();
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, image); }

        var cached = ImageStore.FromLocalCache(image);
        var networking = new FleetNetworking(scope);

        // 1. Read every host once. With a network or security groups, the survey also reads the hosts' network definitions (same round trip).
        var wantsNet = network is not null || create.SecurityGroups.Count > 0;
        var read = await scope.ForEachHostAsync(request.Hosts, "Reading hosts", async (h, c) =>
        {
            var batch = new HostBatch();
            var survey = batch.Add(InstanceCreator.SurveyStep(image));
            var docs = wantsNet ? batch.Add(NetworkStore.ReadStep()) : null;
            await batch.RunAsync(h, c);
            return (Survey: survey.Value, Docs: docs);
        }, ct);
        var surveys = read.ToDictionary(r => r.Key, r => r.Value.Survey);
        FleetNetworkRead? net = null;
        VfNetwork? vfNet = null;
        if (wantsNet)
        {
            try
            {
                var fleet0 = FleetNetworkState.From(read.Where(r => r.Value.Docs is not null).Select(r => r.Value.Docs!.Value).ToList());
                vfNet = network is null ? null : fleet0.FindNetwork(network);
                if (create.SecurityGroups.FirstOrDefault(g => fleet0.FindGroup(g) is null) is { } missing) throw FleetNetworking.NotFound("SecurityGroup", missing);
                if (vfNet is null && network == DefaultNetwork.Name)
                {
                    // VirtFleet's own default network, made where missing (the hosts' live addresses decide its subnet).
                    if (await networking.EnsureDefaultNetworkAsync(ct) is { } made) (net, vfNet) = made;
                }
                else if (vfNet is not null || create.SecurityGroups.Count > 0)
                    net = new FleetNetworkRead(fleet0, new Dictionary<string, HostNetworkState>(), inv.Hosts.Where(h => surveys.ContainsKey(h.Name)).ToList(), inv);
            }
            catch (VfException ex) { throw FleetNetworking.Retarget(ex, network ?? image); }
            if (vfNet?.Mode == NetworkMode.Bridged) create = WithBridge(create, vfNet.Bridge);
        }
        var manifest = cached ?? surveys.Values.Select(s => s.Image).FirstOrDefault(m => m is not null)
            ?? throw new VfException("ImageNotFound", FailureKind.ObjectNotFound,
                $"No image '{image}' on the selected hosts or in the local cache; import it with Import-VfImage.", image);
        // A Windows instance's password is encrypted to its key pair, which must be RSA: refused here, before anything changes.
        if (InstanceCreator.IsWindows(manifest) && create.PublicKeys is [var windowsKey])
            try { Windows.FirstBootScript.RsaKeyValueXml(windowsKey); }
            catch (VfException ex) { throw FleetNetworking.Retarget(ex, request.KeyPair!); }
        // The image as each host will hold it (its own copy when the content is the same, else the version the upload installs):
        // the overlay's base and the kernel are that version's files.
        ImageManifest OnHost(string host) => cached is null ? surveys[host].Image ?? manifest : ImageStore.Installed(cached, surveys[host].Image);
        var eligible = surveys.Where(s => s.Value.Facts.LibvirtRunning && (cached is not null || s.Value.Image is not null)
            && (vfNet is null || vfNet.Hosts.Contains(s.Key)) && inv.Find(s.Key)?.Maintenance != true).ToList();

        // 2. Names that exist already stay where they are (a re-run converges); the rest are placed. A name is unique
        //    across the inventory: it is checked on every host, and not used while a host that might hold it is unread.
        var assignments = new List<(string Host, string Name)>();
        var unplaced = new List<string>();
        var (held, unread) = await FleetNamesAsync(scope, request.Hosts, names, surveys.ToDictionary(s => s.Key, s => s.Value.DomainNames), ct);
        foreach (var n in names)
        {
            var holders = n.Length == 0 ? [] : held.Where(h => h.Value.Contains(n)).Select(h => h.Key).Order(StringComparer.Ordinal).ToList();
            var holder = holders.FirstOrDefault(h => eligible.Any(s => s.Key == h));
            if (holder is not null) assignments.Add((holder, n));
            else if (holders.Count > 0)
                scope.Report.Failure(new VfException("InstanceNameTaken", FailureKind.ResourceExists,
                    $"An instance or domain named {n} exists on {string.Join(", ", holders)}, not among the hosts this command may use; " +
                    "instance names are unique across the inventory. Choose another name, or select that host.", n));
            else if (n.Length > 0 && unread.Count > 0)
                scope.Report.Failure(new VfException("InstanceNameUnverified", FailureKind.ResourceUnavailable,
                    $"{n} was not created: {string.Join(", ", unread)} did not answer and might hold an instance of that name " +
                    "(instance names are unique across the inventory). Run the command again when they answer.", n));
            else unplaced.Add(n);
        }
        try
        {
            // Anti-affinity: the hosts that hold a member of the spread group already (one more read of those hosts, only with a spread group).
            var holding = new HashSet<string>();
            if (create.SpreadGroup is { } spread && unplaced.Count > 0)
                await scope.ForEachHostAsync(eligible.Select(e => inv.Find(e.Key)!).ToList(), "Reading spread group members", InstanceReader.ReadAsync, ct,
                    (h, list) => { if (list.Any(i => i.SpreadGroup == spread)) holding.Add(h.Name); });
            var placed = Placement.Place(eligible.Select(s => s.Value.Capacity).ToList(), create.Type, unplaced.Count, request.Placement,
                create.SpreadGroup, holding);
            assignments.AddRange(placed.Select((h, i) => (h, unplaced[i])));
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, image); }

        // 3. Plan each instance on its host (domain XML from the OS template, seed), then create host by host in parallel.
        var plans = new Dictionary<string, List<InstanceCreator.Planned>>();
        foreach (var (host, n) in assignments)
        {
            InstanceCreator.Planned plan;
            try
            {
                plan = InstanceCreator.Plan(n.Length == 0 ? InstanceCreator.NewInstanceId() : n, create, OnHost(host), request.Profiles, surveys[host]);
            }
            catch (VfException ex) { scope.Report.Failure(FleetNetworking.Retarget(ex, n)); continue; }
            if (!scope.Report.ShouldProcess($"{plan.Name} on {host} ({image}, {create.Type.Name})", "Create instance")) continue;
            (plans.TryGetValue(host, out var l) ? l : plans[host] = []).Add(plan);
        }
        var targets = inv.Hosts.Where(h => plans.ContainsKey(h.Name)).ToList();
        var fleet = net?.Fleet;
        if (net is not null && vfNet is { IsLibvirtNetwork: true } && plans.Count > 0)
        {
            // The reservations are written to every host: read the ones the survey did not.
            if (inv.Hosts.Any(h => !net.Fleet.Copies.ContainsKey(h.Name)))
            {
                net = await networking.ReadAsync(ct);
                vfNet = net.Fleet.FindNetwork(vfNet.Name) ?? vfNet;
            }
            var nics = plans.SelectMany(p => p.Value.Where(x => !surveys[p.Key].DomainNames.Contains(x.Name))
                .Select(x => new NicReservation(p.Key, x.Name, x.InstanceId, x.Domain.Devices.Interfaces[0].Mac!))).ToList();
            try { fleet = await networking.ReserveAsync(net, vfNet, nics, ct); }
            catch (VfException ex) { throw FleetNetworking.Retarget(ex, vfNet.Name); }
        }

        var all = new List<Instance>();
        await scope.ForEachHostAsync(targets, $"Creating {plans.Values.Sum(p => p.Count)} instances", async (remote, c) =>
        {
            var planned = plans[remote.Host.Name];
            if (cached is not null && await ImageStore.EnsureOnHostAsync(remote, cached, null, c, known: surveys[remote.Host.Name].Image))
                scope.Report.Verbose($"{remote.Host.Name}: copied image {manifest.Name}");
            // The create and, with networking, a read of the host's network state after it: one round trip.
            var batch = new HostBatch();
            var made = batch.Add(InstanceCreator.CreateStep(planned, OnHost(remote.Host.Name), create.Type));
            var state = fleet is null ? null : batch.Add(HostNetworkState.ReadStep());
            await batch.RunAsync(remote, c);
            var outcomes = made.Value;
            if (fleet is not null && state is not null && outcomes.Any(o => o.Error is null))
            {
                // DHCP reservations, taps, security groups for the new instances: the host's state came back with the
                // create; one more round trip applies what differs.
                var live = state.Value;
                var report = await NetworkReconciler.ReconcileAsync(remote, fleet, live, net!.Addresses, checkOnly: false, c);
                foreach (var change in report.Changes) scope.Report.Verbose($"{remote.Host.Name}: {change}");
                foreach (var w in report.Warnings) scope.Report.Warning($"{remote.Host.Name}: {w}");
            }
            if (request.Wait)
            {
                var created = outcomes.Where(o => o.Instance is not null).Select(o => o.Instance!).ToList();
                var ready = await InstanceWaiter.WaitAsync(remote, created, request.WaitTimeoutSeconds, c);
                outcomes = outcomes.Select(o => o.Instance is null ? o : o with { Instance = ready.GetValueOrDefault(o.Name, o.Instance) }).ToList();
            }
            return outcomes;
        }, ct, (_, outcomes) =>
        {
            foreach (var o in outcomes)
            {
                if (o.Error is not null) { scope.Report.Failure(FleetNetworking.Retarget(o.Error, o.Name)); continue; }
                if (o.Existed && o.Instance is { IsVirtFleet: false })
                {
                    scope.Report.Failure(new VfException("NameTakenByForeignDomain", FailureKind.ResourceExists,
                        $"{o.Host}: a domain named {o.Name} exists and was not created by VirtFleet.", o.Name));
                    continue;
                }
                if (o.Existed) scope.Report.Verbose($"{o.Host}: instance {o.Name} already exists");
                if (o.Instance is null)
                    scope.Report.Failure(new VfException("InstanceVanished", FailureKind.InvalidOperation,
                        $"{o.Host}: instance {o.Name} was created but could not be read back; see Get-VfInstance.", o.Name));
                else
                {
                    // The address reserved for each NIC (the guest gets it with its first lease) until a lease shows.
                    if (o.Instance.Addresses.Count == 0 && fleet is not null)
                        o.Instance.Addresses.AddRange(o.Instance.MacAddresses.Select(m => fleet.Networks.SelectMany(n => n.Reservations)
                            .FirstOrDefault(r => string.Equals(r.Mac, m, StringComparison.OrdinalIgnoreCase))?.Address).OfType<string>());
                    all.Add(o.Instance);
                    onCreated?.Invoke(o.Instance);
                }
            }
        });
        return all;
    }

    /// <summary>The request with its NIC plugged into a host bridge (a Bridged VirtFleet network) instead of a libvirt network.</summary>
    private static CreateRequest WithBridge(CreateRequest r, string? bridge) => new()
    {
        Image = r.Image, Type = r.Type, KeyPair = r.KeyPair, PublicKeys = r.PublicKeys, UserData = r.UserData, Network = r.Network,
        NetworkBridge = bridge, SecurityGroups = r.SecurityGroups, Tags = r.Tags, SpreadGroup = r.SpreadGroup, Owner = r.Owner,
    };

    /// <summary>
    /// The domain names of every inventory host: <paramref name="surveyed"/> for the hosts the survey read, one listing for
    /// the others not <paramref name="selected"/> (only when there are explicit names to check); and the hosts that did not answer.
    /// </summary>
    private static async Task<(Dictionary<string, IReadOnlyList<string>> Held, List<string> Unread)> FleetNamesAsync(FleetScope scope,
        IReadOnlyList<HostEntry> selected, IReadOnlyList<string> names, Dictionary<string, IReadOnlyList<string>> surveyed, CancellationToken ct)
    {
        var inv = scope.Inventory;
        var held = new Dictionary<string, IReadOnlyList<string>>(surveyed);
        var others = inv.Hosts.Where(h => !held.ContainsKey(h.Name)).ToList();
        if (names.Any(n => n.Length > 0) && others.Count > 0)
        {
            var chosen = selected.Select(h => h.Name).ToHashSet();
            await scope.ForEachHostAsync(others.Where(h => !chosen.Contains(h.Name)).ToList(), "Checking instance names",
                InstanceReader.ReadAsync, ct, (h, list) => held[h.Name] = list.Select(i => i.Name).ToList());
        }
        return (held, inv.Hosts.Select(h => h.Name).Where(h => !held.ContainsKey(h)).ToList());
    }
}
