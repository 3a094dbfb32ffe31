namespace VirtFleet.Playbooks;

/// <summary>"Did you mean" for keys, values and names: the closest candidate within a typo's reach.</summary>
internal static class Spelling
{
    public static string? Suggest(string word, IEnumerable<string> candidates)
    {
        var limit = Math.Max(1, word.Length / 3);
        var best = candidates.Select(c => (c, d: Distance(word.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(x => x.d <= limit).OrderBy(x => x.d).FirstOrDefault();
        return best.c;
    }

    /// <summary>" Did you mean 'x'?" or an empty string.</summary>
    public static string Hint(string word, IEnumerable<string> candidates) =>
        Suggest(word, candidates) is { } s ? $" Did you mean '{s}'?" : "";

    /// <summary>Edits (insert, delete, substitute, swap two neighbours) that turn a into b.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        for (var j = 1; j <= b.Length; j++)
        {
            var cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }
}
