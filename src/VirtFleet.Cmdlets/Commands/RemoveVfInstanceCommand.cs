using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes instances: destroys and undefines the domain and deletes only the disks VirtFleet made for it.</para>
/// <para type="description">Then releases the instances' networking: their address reservations in VirtFleet networks, their public
/// addresses (disassociated, kept allocated), and their firewall chains on their hosts.</para>
/// <example><code>Get-VfInstance -Tag lab | Remove-VfInstance</code></example>
/// <example><code>Remove-VfInstance web1, web2 -PassThru</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
[OutputType(typeof(Model.Instance))]
public sealed class RemoveVfInstanceCommand : InstanceLifecycleCmdlet
{
    protected override InstanceAction Action => InstanceAction.Remove;

    /// <summary>
    /// Instances with a NIC or security groups may hold reservations, public addresses or firewall chains;
    /// the others have nothing to release.
    /// </summary>
    private static bool Networked(Instance i) => i.MacAddresses.Count > 0 || i.SecurityGroups.Count > 0 || i.Networks.Count > 0;

    /// <summary>The host's network state, read after the removal in the same round trip, when there is networking to release.</summary>
    protected override string? ActionTrailer(IReadOnlyList<Instance> targets) =>
        targets.Any(Networked) ? Networking.HostNetworkState.ReadScript : null;

    protected override void AfterActions(HostInventory inventory, SshOptions options, IReadOnlyList<Instance> succeeded,
        IReadOnlyDictionary<string, string> trailers)
    {
        var states = new Dictionary<string, Networking.HostNetworkState>();
        foreach (var (host, text) in trailers)
        {
            try { states[host] = Networking.HostNetworkState.Parse(host, text, inventory.Find(host)?.Address); }
            catch (VfException e) { WriteVerbose($"{host}: network state not readable ({e.Message}); reading again"); }
        }
        ReleaseNetworking(inventory, options, succeeded.Where(Networked).Select(i => (i.Host, i.Name, i.InstanceId)).ToList(), states);
    }
}
