namespace VirtFleet.Transport;

/// <summary>How VirtFleet talks to a host's libvirtd.</summary>
public enum LibvirtPath
{
    /// <summary>virsh on the host, over the pooled SSH connection (works from any admin machine).</summary>
    Virsh,
    /// <summary>libvirt.so on the admin machine, through virt-ssh-helper on an SSH channel (or the local socket).</summary>
    Native,
}
