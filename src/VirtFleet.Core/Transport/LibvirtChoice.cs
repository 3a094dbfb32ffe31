using VirtFleet.LibvirtNative;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// Which libvirt path a host uses: the host's own setting (inventory <c>libvirt:</c>), else $env:VF_LIBVIRT, else auto; and
/// native only where this machine has libvirt.so. Whether the host has virt-ssh-helper is learnt when the tunnel opens (a
/// host without it falls back to virsh).
/// </summary>
public static class LibvirtChoice
{
    /// <summary>The session-wide default: auto, native or virsh.</summary>
    public const string Variable = "VF_LIBVIRT";

    public static bool TryParse(string? text, out LibvirtPreference preference)
    {
        preference = LibvirtPreference.Auto;
        if (string.IsNullOrWhiteSpace(text)) return true;
        return text.Trim().ToLowerInvariant() switch
        {
            "auto" => true,
            "native" => (preference = LibvirtPreference.Native) == LibvirtPreference.Native,
            "virsh" => (preference = LibvirtPreference.Virsh) == LibvirtPreference.Virsh,
            _ => false,
        };
    }

    /// <summary>The preference for a host: its own setting, else the environment's, else auto (an unreadable value counts as auto).</summary>
    public static LibvirtPreference PreferenceFor(HostEntry host, string? environment)
    {
        if (host.Libvirt is { } own && TryParse(own, out var p) && p != LibvirtPreference.Auto) return p;
        return TryParse(environment, out var e) ? e : LibvirtPreference.Auto;
    }

    /// <summary>Whether to try the native path for the host, and when not, why (for Get-VfConnection).</summary>
    public static (bool Native, string Reason) Decide(LibvirtPreference preference, bool libraryAvailable) => preference switch
    {
        LibvirtPreference.Virsh => (false, "virsh asked for"),
        _ when !libraryAvailable => (false, preference == LibvirtPreference.Native
            ? "native asked for, but libvirt.so is not available on this machine"
            : "libvirt.so is not available on this machine"),
        _ => (true, preference == LibvirtPreference.Native ? "native asked for" : "auto"),
    };

    /// <summary>The decision for a host now (its setting, $env:VF_LIBVIRT, this machine's libvirt.so).</summary>
    public static (bool Native, string Reason) For(HostEntry host) =>
        Decide(PreferenceFor(host, Environment.GetEnvironmentVariable(Variable)), NativeLibvirt.IsAvailable);
}
