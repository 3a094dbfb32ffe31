using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace VirtFleet.Libvirt;

/// <summary>MAC addresses for guest NICs: validated when given, derived from the instance UUID when not.</summary>
public static partial class MacAddress
{
    [GeneratedRegex(@"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\z")]
    private static partial Regex Pattern();

    /// <summary>
    /// 52:54:00 (the QEMU/KVM prefix libvirt also uses) plus three bytes hashed from uuid and NIC index,
    /// so a re-run of the same request yields the same address.
    /// </summary>
    public static string Derive(Guid uuid, int nicIndex)
    {
        var hash = SHA256.HashData([.. uuid.ToByteArray(), (byte)nicIndex]);
        return $"52:54:00:{hash[0]:x2}:{hash[1]:x2}:{hash[2]:x2}";
    }

    /// <summary>Lowercase colon form; throws InvalidArgument unless it is a unicast MAC.</summary>
    public static string Normalize(string mac)
    {
        var lower = mac.Trim().ToLowerInvariant().Replace('-', ':');
        if (!Pattern().IsMatch(lower) || (Convert.ToByte(lower[..2], 16) & 1) == 1)
            throw new VfException("InvalidMacAddress", FailureKind.InvalidArgument,
                $"'{mac}' is not a unicast MAC address (aa:bb:cc:dd:ee:ff).", mac);
        return lower;
    }
}
