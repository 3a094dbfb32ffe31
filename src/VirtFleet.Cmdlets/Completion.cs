using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Shared by VirtFleet's argument completers. They are quick and never block on the network or prompt: local state
/// (inventory, key pair folder, image cache) is read directly, fleet state comes from what the session already knows
/// (<see cref="KnownNames"/>), and only when it knows nothing yet from a read over connections the session already
/// has open, bounded by <see cref="ReadBudget"/>. Any failure yields no completions rather than an error.
/// </summary>
public static class Completion
{
    /// <summary>The longest a completer waits for hosts.</summary>
    public static readonly TimeSpan ReadBudget = TimeSpan.FromSeconds(1.5);

    /// <summary>Completion results for the names that start with (or match, with wildcards) what was typed.</summary>
    public static IEnumerable<CompletionResult> Results(string word, IEnumerable<(string Name, string Tooltip)> candidates)
    {
        word = (word ?? "").Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.ContainsWildcardCharacters(word) ? word : WildcardPattern.Escape(word) + "*",
            WildcardOptions.IgnoreCase);
        return candidates.Where(c => pattern.IsMatch(c.Name)).DistinctBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .Select(c => new CompletionResult(Quote(c.Name), c.Name, CompletionResultType.ParameterValue, c.Tooltip))
            .ToList();
    }

    /// <summary>A name as typed on the command line: single-quoted when it holds anything but a plain word.</summary>
    public static string Quote(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && name[0] != '-'
            ? name : "'" + name.Replace("'", "''") + "'";

    /// <summary>This runspace's session (completers run on its pipeline thread).</summary>
    public static VfSession? Session() => VfSession.Current;

    /// <summary>The inventory the command would use: its -Inventory, else the session's, else the default. Null when unreadable.</summary>
    public static Inventory.HostInventory? Inventory(IDictionary fakeBoundParameters)
    {
        try
        {
            var path = fakeBoundParameters["Inventory"] as string;
            if (path is not null) path = UserPaths.ExpandHome(path);
            return Session() is { } s ? s.LoadInventory(path) : VirtFleet.Inventory.HostInventory.Load(path);
        }
        catch (Exception) { return null; }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on each connection the session has open, in parallel, for at most
    /// <see cref="ReadBudget"/>; opens no connection (so no host key or password question can arise).
    /// </summary>
    public static void ReadOpenConnections(VfSession session, Func<IRemoteHost, CancellationToken, Task> read)
    {
        var open = session.Pool.Connections.Where(c => c.IsConnected).ToList();
        if (open.Count == 0) return;
        using var budget = new CancellationTokenSource(ReadBudget);
        var all = Task.WhenAll(open.Select(h => Task.Run(async () =>
        {
            try { await read(h, budget.Token); }
            catch (Exception) { /* a host that fails or is slow just contributes nothing */ }
        })));
        try { all.Wait(ReadBudget + TimeSpan.FromMilliseconds(250)); }
        catch (Exception) { }
    }
}
