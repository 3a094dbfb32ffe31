using System.Collections.Concurrent;
using VirtFleet.Model;
using VirtFleet.Transport.Keeper;

namespace VirtFleet.Transport;

/// <summary>
/// Connections kept for a session, one per host identity (user@address:port, key, name; or the local machine and
/// name), reused by every command; a connection whose options changed (another known_hosts, credential) is replaced.
/// </summary>
public sealed class ConnectionPool : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (ShellHost Host, SshOptions Options)> _hosts = new();
    private readonly ConcurrentDictionary<(string Key, SshOptions Options), KeeperHost> _kept = new();

    /// <summary>The user's connection keeper, used when it is up and serves the options (null: direct connections only).</summary>
    public KeeperClient? Keeper { get; set; }

    /// <summary>
    /// The host through the keeper when it is up and serves these options (strict host keys, no secrets) and the host is
    /// reached over SSH, else the pooled direct connection: a local host, and a host whose libvirt path is asked to be
    /// native (its inventory's libvirt: Native or $env:VF_LIBVIRT=native; libvirt.so runs in this process, over its own
    /// connection), never go through the keeper.
    /// </summary>
    public IRemoteHost Connect(HostEntry host, SshOptions options)
    {
        if (host.Local || Keeper is not { IsUp: true } keeper || !KeeperClient.Accepts(options)
            || LibvirtChoice.PreferenceFor(host, Environment.GetEnvironmentVariable(LibvirtChoice.Variable)) == LibvirtPreference.Native)
            return Get(host, options);
        return _kept.GetOrAdd((Key(host), options), _ => new KeeperHost(keeper, host, options, () => Get(host, options)));
    }

    private static string Key(HostEntry host) => $"{Where(host)}{host.KeyFile}|{host.Sudo}|{host.Name}|{host.Libvirt}";

    public ShellHost Get(HostEntry host, SshOptions options)
    {
        // The name is part of the identity: results are filed under the connection's host name, so one host listed
        // under two names (two inventories) gets a connection per name.
        var key = Key(host);
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
        foreach (var kept in _kept.Keys.Where(k => names is null || names.Any(k.Key.StartsWith)).ToList()) _kept.TryRemove(kept, out _);
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
