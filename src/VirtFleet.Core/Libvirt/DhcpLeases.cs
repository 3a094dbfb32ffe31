using System.Text.Json;

namespace VirtFleet.Libvirt;

/// <summary>libvirt's dnsmasq status files (/var/lib/libvirt/dnsmasq/*.status): JSON arrays of {ip-address, mac-address, expiry-time}.</summary>
public static class DhcpLeases
{
    /// <summary>Address by MAC (case-insensitive) from the concatenated files; a file being rewritten ends the read (best effort).</summary>
    public static Dictionary<string, string> Parse(string text)
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
