using System.Collections.Concurrent;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// Connections kept for a session, one per host identity (user@address:port, key, name; or the local machine and
/// name), reused by every command; a connection whose options changed (another known_hosts, credential) is replaced.
/// </summary>
public sealed class ConnectionPool : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (ShellHost Host, SshOptions Options)> _hosts = new();

    public ShellHost Get(HostEntry host, SshOptions options)
    {
        // The name is part of the identity: results are filed under the connection's host name, so one host listed
        // under two names (two inventories) gets a connection per name.
        var key = $"{Where(host)}{host.KeyFile}|{host.Sudo}|{host.Name}|{host.Libvirt}";
        while (true)
        {
            if (_hosts.TryGetValue(key, out var existing))
            {
                if (existing.Options == options) return existing.Host;
                if (_hosts.TryRemove(KeyValuePair.Create(key, existing))) _ = existing.Host.DisposeAsync().AsTask();
                continue;
            }
            var created = (host.Local ? new LocalHost(host, options) : (ShellHost)new SshHost(host, options), options);
            if (_hosts.TryAdd(key, created)) return created.Item1;
        }
    }

    /// <summary>SSH handshakes made by all pooled connections (for tests and diagnostics).</summary>
    public int Handshakes => _hosts.Values.Sum(h => h.Host.Handshakes);

    public int Count => _hosts.Count;

    /// <summary>The pooled connections, for diagnostics.</summary>
    public IReadOnlyList<ShellHost> Connections => _hosts.Values.Select(v => v.Host).ToList();

    /// <summary>Closes the connections to the given hosts (all when null).</summary>
    public async Task CloseAsync(IEnumerable<HostEntry>? hosts = null)
    {
        var names = hosts?.Select(Where).ToList();
        var closing = new List<Task>();
        foreach (var (key, value) in _hosts.ToArray())
        {
            if (names is not null && !names.Any(key.StartsWith)) continue;
            // In parallel: each close waits for its host's goodbye, which adds up over a fleet.
            if (_hosts.TryRemove(key, out _)) closing.Add(Task.Run(() => value.Host.DisposeAsync().AsTask()));
        }
        await Task.WhenAll(closing);
    }

    /// <summary>The start of a connection's key: where it goes.</summary>
    private static string Where(HostEntry h) => h.Local ? $"local:{h.Name}|" : $"{h.User}@{h.Address}:{h.Port}|";

    public ValueTask DisposeAsync() => new(CloseAsync());
}
