using System.Text.Json;

namespace VirtFleet.Libvirt;

/// <summary>libvirt's dnsmasq status files (/var/lib/libvirt/dnsmasq/*.status): JSON arrays of {ip-address, mac-address, expiry-time}.</summary>
public static class DhcpLeases
{
    /// <summary>The line before a host's DHCP reservations ("mac,ip" lines) in <see cref="Parse"/>'s input.</summary>
    public const string ReservedMarker = "@@VF-RESERVED@@";

    /// <summary>
    /// Shell text printing the leases, then the marker and VirtFleet's DHCP reservations on the host (the stable address of
    /// each NIC in a VirtFleet network: what the guest gets when it asks, shown before its first lease).
    /// </summary>
    public const string ReadScript = "cat " + HostPaths.LibvirtDnsmasq + "/*.status 2>/dev/null; echo " + ReservedMarker +
        "; cat " + HostPaths.Dhcp + "/*/* 2>/dev/null";

    /// <summary>
    /// Address by MAC (case-insensitive) from the concatenated files; a file being rewritten ends the read (best effort).
    /// After <see cref="ReservedMarker"/>, reservations fill in the MACs that have no lease.
    /// </summary>
    public static Dictionary<string, string> Parse(string text)
    {
        var cut = text.IndexOf(ReservedMarker, StringComparison.Ordinal);
        var leases = ParseLeases(cut < 0 ? text : text[..cut]);
        if (cut >= 0)
            foreach (var line in text[(cut + ReservedMarker.Length)..].Split('\n'))
                if (line.Trim().Split(',') is [var mac, var ip] && mac.Length == 17 && System.Net.IPAddress.TryParse(ip, out _))
                    leases.TryAdd(mac.ToLowerInvariant(), ip);
        return leases;
    }

    private static Dictionary<string, string> ParseLeases(string text)
    {
        var leases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(text),
            new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.StartArray) continue;
                using var doc = JsonDocument.ParseValue(ref reader);
                foreach (var lease in doc.RootElement.EnumerateArray())
                    if (lease.TryGetProperty("mac-address", out var mac) && lease.TryGetProperty("ip-address", out var ip)
                        && mac.GetString() is { } m && ip.GetString() is { } a)
                        leases[m.ToLowerInvariant()] = a;
            }
        }
        catch (JsonException) { /* a status file being rewritten */ }
        return leases;
    }
}
