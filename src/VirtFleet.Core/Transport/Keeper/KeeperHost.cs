using VirtFleet.Model;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// A host reached through the user's keeper: commands, virsh and file copies are forwarded over the keeper's socket to
/// the connection it holds. When the keeper cannot be asked (gone, refused), the command goes over a direct
/// connection instead (<paramref name="direct"/>); a keeper lost during a command is that command's ConnectionLost,
/// as a dropped SSH connection is. Port forwards always use the direct connection.
/// Libvirt: listings and actions go through the keeper's long-lived virsh (<see cref="Libvirt"/>); the native path
/// (libvirt.so over the SSH connection) is this process's own, so it is brought up on a direct connection only when a
/// caller needs it (<see cref="OpenLibvirtAsync"/>: event subscriptions), never in the background of a one-shot command.
/// </summary>
public sealed class KeeperHost(KeeperClient keeper, HostEntry host, SshOptions options, Func<ShellHost> direct) : IRemoteHost
{
    private volatile bool _noVirsh;
    private volatile ShellHost? _direct;
    private VirshBackend? _virshBackend;

    /// <summary>The pooled direct connection (made on first use).</summary>
    private ShellHost Direct() => _direct = direct();

    public HostEntry Host { get; } = host;
    public TimeSpan CommandTimeout => options.CommandTimeout;
    /// <summary>The keeper's connections keep their virsh, so it is used from the first call (the keeper starts it when needed).</summary>
    public bool VirshReady => keeper.IsUp ? !_noVirsh : Direct().VirshReady;
    public void PrepareVirsh() { if (!keeper.IsUp) Direct().PrepareVirsh(); }

    /// <summary>
    /// The native path of a direct connection once a caller brought it up (<see cref="OpenLibvirtAsync"/>), else virsh
    /// through the keeper (or through the direct connection when the keeper is gone).
    /// </summary>
    public ILibvirtBackend Libvirt =>
        _direct is { } d && (d.Libvirt.Path == LibvirtPath.Native || !keeper.IsUp) ? d.Libvirt : _virshBackend ??= new VirshBackend(this);

    /// <summary>The host's chosen path: native brought up on a direct connection where the host's choice is native.</summary>
    public async Task<ILibvirtBackend> OpenLibvirtAsync(CancellationToken ct)
    {
        if (LibvirtChoice.For(Host).Native || !keeper.IsUp) return await Direct().OpenLibvirtAsync(ct);
        return Libvirt;
    }

    public void LibvirtChanged() => _direct?.LibvirtChanged();

    /// <summary>The direct connection's native path once a caller brought it up (event subscriptions), else null.</summary>
    public string? NativeLibvirtUri => _direct?.NativeLibvirtUri;

    /// <summary>A long-lived stream (virsh event) runs on a direct connection: the keeper answers requests, it carries no streams.</summary>
    public Task StreamLinesAsync(string command, Action<string> onLine, CancellationToken ct) => Direct().StreamLinesAsync(command, onLine, ct);

    /// <summary>Through the keeper the warm path is its virsh, already up; without it, the direct connection's chosen path.</summary>
    public void PrepareLibvirt()
    {
        if (!keeper.IsUp || _direct is not null) Direct().PrepareLibvirt();
    }

    private KeeperRequest Request(KeeperOp op) => new(op)
    {
        // Paths as this process sees them: the keeper's current folder is another.
        Host = new HostEntry
        {
            Name = Host.Name, Address = Host.Address, Port = Host.Port, User = Host.User, Sudo = Host.Sudo,
            KeyFile = Host.KeyFile is { Length: > 0 } k ? Path.GetFullPath(UserPaths.ExpandHome(k)) : null,
        },
        Options = options with { KnownHostsPath = Path.GetFullPath(options.KnownHostsPath ?? UserPaths.KnownHosts) },
    };

    public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        if (keeper.IsUp)
        {
            var bound = timeout ?? options.CommandTimeout;
            try
            {
                var r = await keeper.CallAsync(Request(KeeperOp.Run) with { Script = script, Stdin = stdin, Timeout = bound }, null, bound, ct);
                return new CommandResult(r.ReadInt32(), r.ReadString(), r.ReadString());
            }
            catch (Exception ex) when (KeeperClient.Declined(ex)) { keeper.MarkDown(ex.Message); }
        }
        return await Direct().RunAsync(script, ct, stdin, timeout);
    }

    public async Task<IReadOnlyList<string>> VirshAsync(IReadOnlyList<string> commands, CancellationToken ct)
    {
        if (keeper.IsUp && !_noVirsh)
        {
            try
            {
                var r = await keeper.CallAsync(Request(KeeperOp.Virsh) with { Args = commands, Timeout = options.CommandTimeout }, null, options.CommandTimeout, ct);
                return r.ReadStrings();
            }
            catch (NotSupportedException) { _noVirsh = true; throw; }
            catch (Exception ex) when (KeeperClient.Declined(ex)) { keeper.MarkDown(ex.Message); }
        }
        return await Direct().VirshAsync(commands, ct);
    }

    public async Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        if (await CopyAsync(KeeperOp.Upload, localPath, remotePath, progress, ct)) return;
        await Direct().UploadAsync(localPath, remotePath, progress, ct);
    }

    public async Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        if (await CopyAsync(KeeperOp.Download, localPath, remotePath, progress, ct)) return;
        await Direct().DownloadAsync(remotePath, localPath, progress, ct);
    }

    private async Task<bool> CopyAsync(KeeperOp op, string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        if (!keeper.IsUp) return false;
        try
        {
            // A copy is bounded by its caller's token, as a direct one is (an image takes as long as it takes).
            await keeper.CallAsync(Request(op) with { Args = [Path.GetFullPath(localPath), remotePath] }, progress, TimeSpan.FromDays(1), ct);
            return true;
        }
        catch (Exception ex) when (KeeperClient.Declined(ex)) { keeper.MarkDown(ex.Message); return false; }
    }

    public Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct) =>
        Direct().ForwardLocalAsync(remoteAddress, remotePort, ct);
}
