using VirtFleet.Model;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// One request to the keeper: what to do, for which host and connection options, and its arguments (the script and
/// its input, virsh commands, local and remote paths, or host names). Paths are absolute: the keeper's folder is not
/// the caller's.
/// </summary>
public sealed record KeeperRequest(KeeperOp Op)
{
    /// <summary>The caller's build (the keeper serves only its own) and home folder (where default keys are looked up).</summary>
    public string Version { get; init; } = KeeperServer.Version;
    public string Home { get; init; } = UserPaths.Home;
    public HostEntry? Host { get; init; }
    public SshOptions? Options { get; init; }
    public string? Script { get; init; }
    public byte[]? Stdin { get; init; }
    /// <summary>The bound on this request's command (the keeper enforces it; the caller waits a little longer).</summary>
    public TimeSpan? Timeout { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];

    public byte[] ToFrame() => KeeperWire.Frame(w =>
    {
        w.Write((byte)Op);
        w.Write(Version);
        w.Write(Home);
        w.Write(Host is not null);
        if (Host is { } h)
        {
            w.Write(h.Name); w.Write(h.Address); w.Write(h.Port); w.Write(h.User); w.WriteOptional(h.KeyFile); w.Write(h.Sudo);
        }
        w.Write(Options is not null);
        if (Options is { } o)
        {
            w.Write(o.ConnectTimeout.Ticks); w.Write(o.AuthTimeout.Ticks); w.Write(o.CommandTimeout.Ticks); w.Write(o.KeepAliveInterval.Ticks);
            w.Write(o.MaxOutputBytes); w.Write((int)o.HostKeyPolicy); w.WriteOptional(o.KnownHostsPath); w.WriteOptional(o.KeyExchange);
            // Secrets never go to the keeper: requests with them are not sent (KeeperClient.Accepts).
        }
        w.WriteOptional(Script);
        w.WriteBytes(Stdin);
        w.Write(Timeout?.Ticks ?? -1);
        w.WriteStrings(Args);
    });

    public static KeeperRequest Read(BinaryReader r)
    {
        var op = (KeeperOp)r.ReadByte();
        var version = r.ReadString();
        var home = r.ReadString();
        HostEntry? host = null;
        if (r.ReadBoolean())
            host = new HostEntry { Name = r.ReadString(), Address = r.ReadString(), Port = r.ReadInt32(), User = r.ReadString(), KeyFile = r.ReadOptional(), Sudo = r.ReadBoolean() };
        SshOptions? options = null;
        if (r.ReadBoolean())
            options = new SshOptions
            {
                ConnectTimeout = new TimeSpan(r.ReadInt64()), AuthTimeout = new TimeSpan(r.ReadInt64()), CommandTimeout = new TimeSpan(r.ReadInt64()),
                KeepAliveInterval = new TimeSpan(r.ReadInt64()), MaxOutputBytes = r.ReadInt64(), HostKeyPolicy = (HostKeyPolicy)r.ReadInt32(),
                KnownHostsPath = r.ReadOptional(), KeyExchange = r.ReadOptional(),
            };
        var script = r.ReadOptional();
        var stdin = r.ReadBytes();
        var timeout = r.ReadInt64();
        return new KeeperRequest(op)
        {
            Version = version, Home = home, Host = host, Options = options, Script = script, Stdin = stdin,
            Timeout = timeout < 0 ? null : new TimeSpan(timeout), Args = r.ReadStrings(),
        };
    }
}
