using System.Text.Json;

namespace VirtFleet.Libvirt;

/// <summary>libvirt's dnsmasq status files (/var/lib/libvirt/dnsmasq/*.status): JSON arrays of {ip-address, mac-address, expiry-time}.</summary>
public static class DhcpLeases
{
    /// <summary>
    /// The leases, then VirtFleet's DHCP reservations on the host (the stable address of each NIC in a VirtFleet network:
    /// what the guest gets when it asks, shown before its first lease), after the run's RESERVED marker (leases.sh).
    /// </summary>
    public static HostScripts.HostStep<Dictionary<string, string>> ReadStep() =>
        HostScripts.HostScript.Load("lease-read").Include("leases").Reads(r => Parse(r.Stdout, r.Markers));

    /// <summary>
    /// Address by MAC (case-insensitive) from the concatenated files; a file being rewritten ends the read (best effort).
    /// After the run's RESERVED marker, reservations fill in the MACs that have no lease (a guest's hostname in a lease file
    /// cannot pose as that marker: it does not know the nonce).
    /// </summary>
    public static Dictionary<string, string> Parse(string text, HostScripts.HostMarkers markers)
    {
        var reserved = markers["RESERVED"];
        var cut = text.IndexOf(reserved, StringComparison.Ordinal);
        var leases = ParseLeases(cut < 0 ? text : text[..cut]);
        if (cut >= 0)
            foreach (var line in text[(cut + reserved.Length)..].Split('\n'))
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
