using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists this session's pooled host connections: how many handshakes and commands each has made.</para>
/// <para type="description">VirtFleet keeps one SSH connection per host per session, with one long-lived remote shell,
/// so repeated commands do not pay for a new handshake; a local host (Add-VfHost -Local) keeps one local shell instead, its
/// Transport "local". Disconnect-VfHost closes them.
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
    }
}
