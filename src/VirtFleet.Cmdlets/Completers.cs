using System.Collections;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Language;
using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Cmdlets;

/// <summary>
/// The fleet names this session has seen, for tab completion: instances written by Get-/New-VfInstance and the
/// lifecycle cmdlets, networks and security groups from the last read of the fleet's networking definitions,
/// images from Get-VfImage. Completion reads these instead of the hosts.
/// </summary>
public sealed class KnownNames
{
    private readonly ConcurrentDictionary<(string Host, string Name), string?> _instances = new();
    private volatile string[]? _networks;
    private volatile string[]? _groups;
    private volatile (string Address, string? Instance)[]? _addresses;
    private readonly ConcurrentDictionary<string, byte> _images = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Instance names with the host each is on.</summary>
    public IReadOnlyList<(string Host, string Name)> Instances => _instances.Keys.ToList();
    /// <summary>Network names; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<string>? Networks => _networks;
    /// <summary>Security group names; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<string>? Groups => _groups;
    /// <summary>Public addresses with the instance each is associated with; null until the session has read the fleet's networking definitions.</summary>
    public IReadOnlyList<(string Address, string? Instance)>? Addresses => _addresses;
    /// <summary>Image names seen on hosts or used by instances.</summary>
    public IReadOnlyList<string> Images => _images.Keys.ToList();
    /// <summary>True once some host's instances were listed in this session.</summary>
    public bool InstancesRead { get; private set; }

    public void Saw(Instance i)
    {
        if (i.IsVirtFleet) SawInstance(i.Host, i.Name, i.Image);
    }

    /// <summary>An instance named <paramref name="name"/> is on <paramref name="host"/>.</summary>
    public void SawInstance(string host, string name, string? image = null)
    {
        _instances[(host, name)] = image;
        if (image is { Length: > 0 }) _images[image] = 0;
        InstancesRead = true;
    }

    public void Gone(string host, string name) => _instances.TryRemove((host, name), out _);

    public void Saw(FleetNetworkState fleet)
    {
        SawNetworks(fleet.Networks.Select(n => n.Name));
        SawGroups(fleet.Groups.Select(g => g.Name));
        SawAddresses(fleet.Addresses.Select(a => (a.Address, a.Associated ? a.Instance : null)));
    }

    /// <summary>These are all of the fleet's public addresses (with their instances, where associated).</summary>
    public void SawAddresses(IEnumerable<(string Address, string? Instance)> addresses) => _addresses = addresses.ToArray();

    /// <summary>These are all of the fleet's networks.</summary>
    public void SawNetworks(IEnumerable<string> names) => _networks = names.ToArray();

    /// <summary>These are all of the fleet's security groups.</summary>
    public void SawGroups(IEnumerable<string> names) => _groups = names.ToArray();

    public void SawImage(string name) => _images[name] = 0;
}

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
            if (path is not null && path.StartsWith('~')) path = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.TrimStart('~', '/'));
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

/// <summary>Tab completion of instance names: what this session has listed, else a bounded read of the hosts it is connected to.</summary>
public sealed class InstanceNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (Completion.Session() is not { } session) return [];
        if (!session.Known.InstancesRead)
            Completion.ReadOpenConnections(session, async (h, ct) =>
            {
                foreach (var i in await InstanceReader.ReadAsync(h, ct)) session.Known.Saw(i);
            });
        return Completion.Results(wordToComplete, session.Known.Instances.Select(i => (i.Name, $"{i.Name} on {i.Host}")));
    }
}

/// <summary>Reads the fleet's networking definitions over open connections when the session has not read them yet.</summary>
internal static class FleetNames
{
    public static KnownNames? Networking()
    {
        if (Completion.Session() is not { } session) return null;
        if (session.Known.Networks is null)
        {
            var docs = new ConcurrentBag<NetworkStore.HostDocs>();
            Completion.ReadOpenConnections(session, async (h, ct) => docs.Add(await NetworkStore.ReadAsync(h, ct)));
            if (!docs.IsEmpty)
                try { session.Known.Saw(FleetNetworkState.From(docs.ToList())); }
                catch (Exception) { }
        }
        return session.Known;
    }
}

/// <summary>Tab completion of VirtFleet network names.</summary>
public sealed class NetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Networks ?? []).Select(n => (n, $"network {n}")));
}

/// <summary>Tab completion of security group names.</summary>
public sealed class SecurityGroupCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Groups ?? []).Select(g => (g, $"security group {g}")));
}

/// <summary>Tab completion of the fleet's public addresses.</summary>
public sealed class AddressCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Addresses ?? [])
            .Select(a => (a.Address, a.Instance is null ? $"{a.Address} (not associated)" : $"{a.Address} -> {a.Instance}")));
}

/// <summary>Tab completion of key pair names from the local key pair folder.</summary>
public sealed class KeyPairCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string[] files;
        try { files = Directory.Exists(KeyPairStore.Folder) ? Directory.GetFiles(KeyPairStore.Folder, "*.pub") : []; }
        catch (Exception) { return []; }
        return Completion.Results(wordToComplete, files.Select(f => Path.GetFileNameWithoutExtension(f))
            .Select(n => (n, File.Exists(Path.Combine(KeyPairStore.Folder, n)) ? $"key pair {n} (private key here)" : $"key pair {n}")));
    }
}

/// <summary>Tab completion of image names: the local image cache, and images this session saw on hosts or under instances.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var names = new List<(string, string)>();
        try
        {
            if (Directory.Exists(ImageStore.LocalCacheDir))
                names.AddRange(Directory.GetDirectories(ImageStore.LocalCacheDir)
                    .Where(d => File.Exists(Path.Combine(d, "image.json")))
                    .Select(d => (Path.GetFileName(d), $"image {Path.GetFileName(d)} (local cache)")));
        }
        catch (Exception) { }
        if (Completion.Session() is { } session) names.AddRange(session.Known.Images.Select(n => (n, $"image {n}")));
        return Completion.Results(wordToComplete, names);
    }
}
