namespace VirtFleet.Transport;

/// <summary>Which libvirt path a host should use (inventory <c>libvirt:</c>, Set-VfHost -LibvirtPath, $env:VF_LIBVIRT).</summary>
public enum LibvirtPreference
{
    /// <summary>Native where the admin machine has libvirt.so and the host has virt-ssh-helper, else virsh.</summary>
    Auto,
    /// <summary>Native; a host where it cannot come up reports it and falls back to virsh.</summary>
    Native,
    /// <summary>virsh over SSH only.</summary>
    Virsh,
}
