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

    /// <summary>
    /// The pattern as a lower-case POSIX shell pattern (for a host script's <c>case</c>, against a name in lower case) that
    /// matches what <see cref="IsMatch"/> does; null when the pattern holds anything but letters, digits, <c>_ . -</c>,
    /// <c>* ?</c> and <c>[...]</c> sets of those (not negated): such a pattern is matched where it is read, not on a host.
    /// </summary>
    public static string? ToShellPattern(string pattern)
    {
        static bool Plain(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-';
        var p = pattern.ToLowerInvariant();
        var inSet = false;
        for (var i = 0; i < p.Length; i++)
        {
            var c = p[i];
            if (inSet)
            {
                if (c == ']' && p[i - 1] != '[') inSet = false;
                else if (!Plain(c)) return null;
            }
            else if (c == '[') inSet = true;
            else if (!Plain(c) && c is not ('*' or '?')) return null;
        }
        return p.Length == 0 || inSet ? null : p;
    }
}
