using System.Globalization;

namespace VirtFleet.Events;

/// <summary>
/// Reads the lines of <c>virsh event --loop --event lifecycle --timestamp</c> (LC_ALL=C):
/// <c>2026-12-07 06:30:01.123+0000: event 'lifecycle' for domain 'web1': Started Booted</c>.
/// </summary>
public static class VirshEventParser
{
    private const string Lead = "event 'lifecycle' for domain '";

    /// <summary>The event a line holds, or null for any other line (virsh's "events received" summary, blanks).</summary>
    public static DomainEvent? Parse(string line, string host, DateTimeOffset? now = null)
    {
        var at = line.IndexOf(Lead, StringComparison.Ordinal);
        if (at < 0) return null;
        var time = at >= 2 && ParseTime(line[..at].TrimEnd().TrimEnd(':')) is { } t ? t : now ?? DateTimeOffset.UtcNow;
        var rest = line[(at + Lead.Length)..].TrimEnd('\r', '\n');
        // The name may hold anything but "': " is what ends it: virsh's kind and detail words never contain it.
        var end = rest.LastIndexOf("': ", StringComparison.Ordinal);
        if (end <= 0) return null;
        var name = rest[..end];
        var words = rest[(end + 3)..];
        var space = words.IndexOf(' ');
        var kind = space < 0 ? words : words[..space];
        var detail = space < 0 ? "" : words[(space + 1)..];
        var (k, d) = DomainEventNames.FromVirsh(kind, detail) ?? (DomainEventKind.Unknown, words);
        return new DomainEvent { Host = host, Name = name, Kind = k, Detail = d, Time = time, Source = "virsh" };
    }

    /// <summary>virsh's timestamp: "yyyy-MM-dd HH:mm:ss.fff+0000" (UTC).</summary>
    internal static DateTimeOffset? ParseTime(string text)
    {
        text = text.Trim();
        if (text.Length > 5 && (text[^5] is '+' or '-') && text[^4..].All(char.IsAsciiDigit))
            text = text[..^2] + ":" + text[^2..];
        return DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd HH:mm:ss.fffzzz", "yyyy-MM-dd HH:mm:sszzz"], CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var t) ? t.ToUniversalTime() : null;
    }
}
