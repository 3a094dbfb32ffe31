using System.Management.Automation;
using VirtFleet.Images;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Runs new instances from an image across the fleet.</para>
/// <para type="description">Reads each selected host once (capacity, capabilities, image, names), places the instances
/// (LeastLoaded by default, counting what the batch itself reserves), copies the image to hosts that lack it, then on
/// each host in one round trip makes a qcow2 overlay, a NoCloud seed, defines the domain from the template of the
/// image's OS and starts it. A failed create removes what it made; the others carry on. Re-running with the same
/// -Name converges: existing VirtFleet instances are returned, not duplicated.</para>
/// <example><code>New-VfInstance -Image win2008 -Count 3</code></example>
/// <example><code>New-VfInstance -Image vflinux -Name web1, web2 -InstanceType t1.micro -Network vflab -KeyPair admin -Wait</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfInstance", SupportsShouldProcess = true, DefaultParameterSetName = ByCount)]
[OutputType(typeof(Instance))]
public sealed class NewVfInstanceCommand : VfFleetCmdlet
{
    private const string ByCount = "ByCount";
    private const string ByName = "ByName";

    /// <summary>The image to run (Get-VfImage): from the hosts' image stores or the local cache (copied to hosts that lack it).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Image { get; set; } = "";

    /// <summary>How many instances to create (1-1000). Default: 1.</summary>
    [Parameter(ParameterSetName = ByCount)]
    [ValidateRange(1, 1000)]
    public int Count { get; set; } = 1;

    /// <summary>Exact instance names (one instance each).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ByName)]
    public string[] Name { get; set; } = [];

    /// <summary>Names become PREFIX-1, PREFIX-2, … (default: the instance id).</summary>
    [Parameter(ParameterSetName = ByCount)]
    public string? NamePrefix { get; set; }

    /// <summary>The size: vCPUs, memory and disk (Get-VfInstanceType). Default: m1.small.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(InstanceTypeCompleter))]
    public string InstanceType { get; set; } = Model.InstanceType.DefaultName;

    /// <summary>A key pair from Get-VfKeyPair: its public key goes into the seed (Linux guests). Default: none.</summary>
    [ArgumentCompleter(typeof(KeyPairCompleter))]
    [Parameter] public string? KeyPair { get; set; }

    /// <summary>cloud-init / cloudbase-init user data (#cloud-config, a script, or MIME). Default: none.</summary>
    [Parameter] public string? UserData { get; set; }

    /// <summary>A VirtFleet network (New-VfNetwork: the instance gets a stable address and is placed on the network's hosts) or a libvirt
    /// network on the hosts. Default: the inventory's defaultNetwork, else VirtFleet's own NAT network vfdefault, made on first use.</summary>
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    [Parameter] public string? Network { get; set; }

    /// <summary>No NIC at all (instead of the default network).</summary>
    [Parameter] public SwitchParameter NoNetwork { get; set; }

    /// <summary>Tags stored in the instance's metadata (for Get-VfInstance -Tag and playbooks). Default: none.</summary>
    [Parameter] public string[] Tag { get; set; } = [];

    /// <summary>Security groups the instances join (default deny inbound, then what the groups allow).</summary>
    [ArgumentCompleter(typeof(SecurityGroupCompleter))]
    [Parameter] public string[] SecurityGroup { get; set; } = [];

    /// <summary>Anti-affinity: the instances join this spread group, whose members never share a host (here, and in Move-VfInstance and Invoke-VfRebalance); a fleet that cannot honour it is a SpreadGroupUnsatisfiable error. Default: none.</summary>
    [Parameter] public string? SpreadGroup { get; set; }

    /// <summary>How hosts are chosen: LeastLoaded (fewest vCPUs committed per CPU, then most free memory), RoundRobin (in turn) or Pack (the fullest host that still fits). Default: LeastLoaded.</summary>
    [Parameter] public PlacementStrategy Placement { get; set; } = PlacementStrategy.LeastLoaded;

    /// <summary>Wait until running and, with a network, until the instance has an address.</summary>
    [Parameter] public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait: seconds to wait for each instance (1-3600). Default: 180.</summary>
    [Parameter] [ValidateRange(1, 3600)] public int WaitTimeout { get; set; } = 180;

    protected override void ProcessRecord()
    {
        CreateRequest request;
        List<string> names;
        var inv = LoadInventory();
        string? network;
        try
        {
            if (NoNetwork && Network is not null)
                throw new VfException("NetworkAndNoNetwork", FailureKind.InvalidArgument, "Give either -Network or -NoNetwork, not both.", Network);
            network = Networking.DefaultNetwork.For(Network, NoNetwork, inv);
            Names.ValidateInstanceName(Image);
            foreach (var t in Tag) Names.ValidateTag(t);
            request = new CreateRequest
            {
                Image = Image, Type = Model.InstanceType.Find(InstanceType), KeyPair = KeyPair,
                PublicKeys = KeyPair is null ? [] : [KeyPairStore.ReadPublicKey(KeyPair)],
                UserData = UserData, Network = network is null ? null : Names.ValidateNetworkName(network), Tags = Tag,
                SecurityGroups = SecurityGroup.Select(Networking.SecurityGroup.ValidateName).ToList(),
                SpreadGroup = SpreadGroup is null ? null : Names.ValidateTag(SpreadGroup),
            };
            names = ParameterSetName == ByName
                ? Name.Select(n => Names.ValidateInstanceName(n)).ToList()
                : Enumerable.Range(1, Count).Select(i => NamePrefix is null ? "" : Names.ValidateInstanceName($"{NamePrefix}-{i}")).ToList();
        }
        catch (VfException ex) { ThrowFailure(ex, Image); return; }

        var options = Options(inv);
        var cached = ImageStore.FromLocalCache(Image);
        var profiles = TemplatePaths.LoadProfiles(this);

        // 1. Read every host once.
        var surveys = new Dictionary<string, (IRemoteHost Remote, HostSurvey Survey, HostOutput<Networking.NetworkStore.HostDocs>? Docs)>();
        // With a network or security groups, the survey also reads the hosts' network definitions (same round trip).
        var wantsNet = network is not null || SecurityGroup.Length > 0;
        ForEachHost(SelectHosts(inv), options, "Reading hosts",
            async (h, ct) =>
            {
                var batch = new HostBatch();
                var survey = batch.Add(InstanceCreator.SurveyStep(Image));
                var docs = wantsNet ? batch.Add(Networking.NetworkStore.ReadStep()) : null;
                await batch.RunAsync(h, ct);
                return (h, survey.Value, docs);
            },
            (host, r) => surveys[host.Name] = r);
        var networking = new Operations.FleetNetworking(Scope(inv));
        Operations.FleetNetworkRead? net = null;
        Networking.VfNetwork? vfNet = null;
        if (wantsNet)
        {
            try
            {
                var fleet0 = Networking.FleetNetworkState.From(surveys.Where(s => s.Value.Docs is not null)
                    .Select(s => s.Value.Docs!.Value).ToList());
                vfNet = network is null ? null : fleet0.FindNetwork(network);
                if (SecurityGroup.FirstOrDefault(g => fleet0.FindGroup(g) is null) is { } missing) throw Operations.FleetNetworking.NotFound("SecurityGroup", missing);
                if (vfNet is null && network == Networking.DefaultNetwork.Name)
                {
                    // VirtFleet's own default network, made where missing (the hosts' live addresses decide its subnet).
                    if (RunAsync(networking.EnsureDefaultNetworkAsync) is { } made) (net, vfNet) = made;
                }
                else if (vfNet is not null || SecurityGroup.Length > 0)
                    net = new Operations.FleetNetworkRead(fleet0, new Dictionary<string, Networking.HostNetworkState>(), inv.Hosts.Where(h => surveys.ContainsKey(h.Name)).ToList(), inv);
            }
            catch (VfException ex) { ThrowFailure(ex, network ?? Image); return; }
            if (vfNet?.Mode == Networking.NetworkMode.Bridged)
                request = new CreateRequest
                {
                    Image = request.Image, Type = request.Type, KeyPair = request.KeyPair, PublicKeys = request.PublicKeys, UserData = request.UserData,
                    Network = request.Network, NetworkBridge = vfNet.Bridge, SecurityGroups = request.SecurityGroups, Tags = request.Tags,
                };
        }
        var manifest = cached ?? surveys.Values.Select(s => s.Survey.Image).FirstOrDefault(m => m is not null);
        if (manifest is null)
        {
            ThrowFailure(new VfException("ImageNotFound", FailureKind.ObjectNotFound,
                $"No image '{Image}' on the selected hosts or in the local cache; import it with Import-VfImage.", Image));
            return;
        }
        // The image as each host will hold it (its own copy when the content is the same, else the version the upload installs):
        // the overlay's base and the kernel are that version's files.
        ImageManifest OnHost(string host) => cached is null ? surveys[host].Survey.Image ?? manifest : ImageStore.Installed(cached, surveys[host].Survey.Image);
        var eligible = surveys.Where(s => s.Value.Survey.Facts.LibvirtRunning && (cached is not null || s.Value.Survey.Image is not null)
            && (vfNet is null || vfNet.Hosts.Contains(s.Key)) && inv.Find(s.Key)?.Maintenance != true).ToList();

        // 2. Names that exist already stay where they are (a re-run converges); the rest are placed. A name is unique
        //    across the inventory: it is checked on every host, and not used while a host that might hold it is unread.
        var assignments = new List<(string Host, string Name)>();
        var unplaced = new List<string>();
        var held = FleetNames(inv, options, names, surveys.ToDictionary(s => s.Key, s => s.Value.Survey.DomainNames), out var unread);
        foreach (var n in names)
        {
            var holders = n.Length == 0 ? [] : held.Where(h => h.Value.Contains(n)).Select(h => h.Key).Order(StringComparer.Ordinal).ToList();
            var holder = holders.FirstOrDefault(h => eligible.Any(s => s.Key == h));
            if (holder is not null) assignments.Add((holder, n));
            else if (holders.Count > 0)
                WriteFailure(new VfException("InstanceNameTaken", FailureKind.ResourceExists,
                    $"An instance or domain named {n} exists on {string.Join(", ", holders)}, not among the hosts this command may use; " +
                    "instance names are unique across the inventory. Choose another name, or select that host.", n), n);
            else if (n.Length > 0 && unread.Count > 0)
                WriteFailure(new VfException("InstanceNameUnverified", FailureKind.ResourceUnavailable,
                    $"{n} was not created: {string.Join(", ", unread)} did not answer and might hold an instance of that name " +
                    "(instance names are unique across the inventory). Run the command again when they answer.", n), n);
            else unplaced.Add(n);
        }
        try
        {
            // Anti-affinity: the hosts that hold a member of the spread group already (one more read of those hosts, only with -SpreadGroup).
            var holding = new HashSet<string>();
            if (request.SpreadGroup is { } spread && unplaced.Count > 0)
                ForEachHost(eligible.Select(e => inv.Find(e.Key)!).ToList(), options, "Reading spread group members", InstanceReader.ReadAsync,
                    (h, list) => { if (list.Any(i => i.SpreadGroup == spread)) holding.Add(h.Name); });
            var placed = Instances.Placement.Place(eligible.Select(s => s.Value.Survey.Capacity).ToList(), request.Type, unplaced.Count, Placement,
                request.SpreadGroup, holding);
            assignments.AddRange(placed.Select((h, i) => (h, unplaced[i])));
        }
        catch (VfException ex) { ThrowFailure(ex, Image); return; }

        // 3. Plan each instance on its host (domain XML from the OS template, seed), then create host by host in parallel.
        var plans = new Dictionary<string, List<InstanceCreator.Planned>>();
        foreach (var (host, n) in assignments)
        {
            var survey = surveys[host].Survey;
            InstanceCreator.Planned plan;
            try
            {
                plan = InstanceCreator.Plan(n.Length == 0 ? InstanceCreator.NewInstanceId() : n, request, OnHost(host), profiles, survey);
            }
            catch (VfException ex) { WriteFailure(ex, n); continue; }
            if (!ShouldProcess($"{plan.Name} on {host} ({Image}, {request.Type.Name})", "Create instance")) continue;
            (plans.TryGetValue(host, out var l) ? l : plans[host] = []).Add(plan);
        }
        var targets = inv.Hosts.Where(h => plans.ContainsKey(h.Name)).ToList();
        var fleet = net?.Fleet;
        if (net is not null && vfNet is { IsLibvirtNetwork: true } && plans.Count > 0)
        {
            // The reservations are written to every host: read the ones the survey did not.
            if (inv.Hosts.Any(h => !net.Fleet.Copies.ContainsKey(h.Name)))
            {
                net = RunAsync(ct => networking.ReadAsync(ct));
                vfNet = net.Fleet.FindNetwork(vfNet.Name) ?? vfNet;
            }
            try
            {
                var nics = plans.SelectMany(p => p.Value.Where(x => !surveys[p.Key].Survey.DomainNames.Contains(x.Name))
                    .Select(x => new Operations.NicReservation(p.Key, x.Name, x.InstanceId, x.Domain.Devices.Interfaces[0].Mac!))).ToList();
                var (reserveIn, network0) = (net, vfNet);
                fleet = RunAsync(ct => networking.ReserveAsync(reserveIn, network0, nics, ct));
            }
            catch (VfException ex) { ThrowFailure(ex, vfNet.Name); return; }
        }
        ForEachHost(targets, options, $"Creating {plans.Values.Sum(p => p.Count)} instances", async (remote, ct) =>
        {
            var planned = plans[remote.Host.Name];
            if (cached is not null && await ImageStore.EnsureOnHostAsync(remote, cached, null, ct, known: surveys[remote.Host.Name].Survey.Image))
                PostVerbose($"{remote.Host.Name}: copied image {manifest.Name}");
            // The create and, with networking, a read of the host's network state after it: one round trip.
            var batch = new HostBatch();
            var create = batch.Add(InstanceCreator.CreateStep(planned, OnHost(remote.Host.Name), request.Type));
            var state = fleet is null ? null : batch.Add(Networking.HostNetworkState.ReadStep());
            await batch.RunAsync(remote, ct);
            var outcomes = create.Value;
            if (fleet is not null && state is not null && outcomes.Any(o => o.Error is null))
            {
                // DHCP reservations, taps, security groups for the new instances: the host's state came back with the
                // create; one more round trip applies what differs.
                var live = state.Value;
                var report = await Networking.NetworkReconciler.ReconcileAsync(remote, fleet, live, net!.Addresses, checkOnly: false, ct);
                foreach (var c in report.Changes) PostVerbose($"{remote.Host.Name}: {c}");
                foreach (var w in report.Warnings) PostWarning($"{remote.Host.Name}: {w}");
            }
            if (Wait)
            {
                var created = outcomes.Where(o => o.Instance is not null).Select(o => o.Instance!).ToList();
                var ready = await InstanceWaiter.WaitAsync(remote, created, WaitTimeout, ct);
                outcomes = outcomes.Select(o => o.Instance is null ? o : o with { Instance = ready.GetValueOrDefault(o.Name, o.Instance) }).ToList();
            }
            return outcomes;
        }, (_, outcomes) =>
        {
            foreach (var o in outcomes)
            {
                if (o.Error is not null) { WriteFailure(o.Error, o.Name); continue; }
                if (o.Existed && o.Instance is { IsVirtFleet: false })
                {
                    WriteFailure(new VfException("NameTakenByForeignDomain", FailureKind.ResourceExists,
                        $"{o.Host}: a domain named {o.Name} exists and was not created by VirtFleet.", o.Name), o.Name);
                    continue;
                }
                if (o.Existed) WriteVerbose($"{o.Host}: instance {o.Name} already exists");
                if (o.Instance is null)
                    WriteFailure(new VfException("InstanceVanished", FailureKind.InvalidOperation,
                        $"{o.Host}: instance {o.Name} was created but could not be read back; see Get-VfInstance.", o.Name), o.Name);
                else
                {
                    // The address reserved for each NIC (the guest gets it with its first lease) until a lease shows.
                    if (o.Instance.Addresses.Count == 0 && fleet is not null)
                        o.Instance.Addresses.AddRange(o.Instance.MacAddresses.Select(m => fleet.Networks.SelectMany(n => n.Reservations)
                            .FirstOrDefault(r => string.Equals(r.Mac, m, StringComparison.OrdinalIgnoreCase))?.Address).OfType<string>());
                    WriteInstance(o.Instance, inv);
                }
            }
        });
    }

    /// <summary>
    /// The domain names of every inventory host: <paramref name="surveyed"/> for the hosts the survey read, one listing for
    /// the others (only when there are explicit names to check). <paramref name="unread"/>: hosts that did not answer.
    /// </summary>
    private Dictionary<string, IReadOnlyList<string>> FleetNames(Inventory.HostInventory inv, SshOptions options, IReadOnlyList<string> names,
        Dictionary<string, IReadOnlyList<string>> surveyed, out List<string> unread)
    {
        var held = new Dictionary<string, IReadOnlyList<string>>(surveyed);
        var others = inv.Hosts.Where(h => !held.ContainsKey(h.Name)).ToList();
        if (names.Any(n => n.Length > 0) && others.Count > 0)
        {
            var selected = SelectHosts(inv).Select(h => h.Name).ToHashSet();
            ForEachHost(others.Where(h => !selected.Contains(h.Name)).ToList(), options, "Checking instance names",
                InstanceReader.ReadAsync, (h, list) => held[h.Name] = list.Select(i => i.Name).ToList());
        }
        unread = inv.Hosts.Select(h => h.Name).Where(h => !held.ContainsKey(h)).ToList();
        return held;
    }
}
