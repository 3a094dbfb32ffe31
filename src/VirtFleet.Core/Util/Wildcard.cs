using System.Text.RegularExpressions;

namespace VirtFleet;

/// <summary>PowerShell-style wildcards (* ? [abc]), case-insensitive, without PowerShell.</summary>
public static class Wildcard
{
    public static bool HasWildcards(string pattern) => pattern.IndexOfAny(['*', '?', '[']) >= 0;

    public static bool IsMatch(string value, string pattern)
    {
        if (!HasWildcards(pattern)) return string.Equals(value, pattern, StringComparison.OrdinalIgnoreCase);
        var re = "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".").Replace(@"\[", "[") + "$";
        return Regex.IsMatch(value, re, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
