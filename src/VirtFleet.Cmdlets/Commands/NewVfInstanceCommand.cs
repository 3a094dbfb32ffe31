using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Runs new instances from an image across the fleet.</para>
/// <para type="description">Reads each selected host once (capacity, capabilities, image, names), places the instances
/// (LeastLoaded by default, counting what the batch itself reserves), copies the image to hosts that lack it, then on
/// each host in one round trip makes a qcow2 overlay, a NoCloud seed, defines the domain from the template of the
/// image's OS and starts it (a host's instances side by side, up to 4 at once, unless they are in security groups: those
/// are guarded and started one by one). A failed create removes what it made; the others carry on. Re-running with the same
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
        var inv = LoadInventory();
        var request = new CreateInstancesRequest
        {
            Image = Image, Names = ParameterSetName == ByName ? Name : [], Count = Count, NamePrefix = NamePrefix, InstanceType = InstanceType,
            KeyPair = KeyPair, UserData = UserData, Network = Network, NoNetwork = NoNetwork, Tags = Tag, SecurityGroups = SecurityGroup,
            SpreadGroup = SpreadGroup, Placement = Placement, Wait = Wait, WaitTimeoutSeconds = WaitTimeout,
            Hosts = SelectHosts(inv), Profiles = TemplatePaths.LoadProfiles(this),
        };
        var scope = Scope(inv);
        RunAsync(ct => CreateInstances.RunAsync(scope, request, ct, i => Post(() => WriteInstance(i, inv))));
    }
}
