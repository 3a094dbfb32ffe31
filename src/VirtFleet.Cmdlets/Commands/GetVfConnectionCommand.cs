using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists this session's pooled host connections and those of the user's connection keeper: how many handshakes and commands each has made.</para>
/// <para type="description">VirtFleet keeps one SSH connection per host per session, with one long-lived remote shell,
/// so repeated commands do not pay for a new handshake; a local host (Add-VfHost -Local) keeps one local shell instead, its
/// Transport "local". The user's connection keeper holds SSH connections for the user's later processes too (Via keeper;
/// see docs/keeper.md). Disconnect-VfHost closes them; Disconnect-VfHost -All also ends the keeper.
/// The Libvirt column shows how each host's libvirtd is reached: native (this machine's libvirt.so, through virt-ssh-helper on a
/// channel of the same connection) or virsh (on the host); LibvirtNote says why (Set-VfHost -LibvirtPath, $env:VF_LIBVIRT, or
/// why native is not up).</para>
/// <example><code>Get-VfConnection</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfConnection")]
[OutputType(typeof(VfConnectionInfo))]
public sealed class GetVfConnectionCommand : VfCmdlet
{
    protected override void ProcessRecord()
    {
        foreach (var c in Session.Pool.Connections.OrderBy(c => c.Host.Name))
            WriteObject(new VfConnectionInfo(c.Host.Name, c.Host.Address, c.Host.Port, c.Host.User, c.IsConnected, c.Handshakes, c.Commands, c.Transport,
                c.LibvirtPath.ToString().ToLowerInvariant(), c.LibvirtNote));
        if (Transport.Keeper.KeeperClient.Shared is not { } keeper || !keeper.EnsureUp(start: false)) return;
        foreach (var c in RunAsync(keeper.ConnectionsAsync))
            WriteObject(new VfConnectionInfo(c.Host, c.Address, c.Port, c.User, c.Connected, c.Handshakes, c.Commands,
                LibvirtNote: "the keeper's long-lived virsh") { Via = "keeper" });
    }
}
