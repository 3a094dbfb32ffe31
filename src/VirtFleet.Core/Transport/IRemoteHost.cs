using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// A live connection to one hypervisor host. Commands go through one long-lived remote
/// shell, so each costs about a millisecond plus what it runs.
/// </summary>
public interface IRemoteHost
{
    HostEntry Host { get; }

    /// <summary>The bound on one command when the caller names none (also the host-side bound of a locked script).</summary>
    TimeSpan CommandTimeout => TimeSpan.FromMinutes(5);

    /// <summary>
    /// Runs shell text (build it with <see cref="ShellQuote"/>; never paste user values) in a
    /// subshell of the host's session shell. Optional bytes are fed to its standard input.
    /// A timeout or dropped connection throws; the command is never retried here.
    /// </summary>
    Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null);

    /// <summary>
    /// Runs virsh commands (no newlines; values already quoted for virsh) through one long-lived interactive
    /// virsh on the same connection: no process start and no libvirt connect per call. Returns each
    /// command's output. Transports without such a session throw NotSupportedException; callers fall back
    /// to <see cref="RunAsync"/>.
    /// </summary>
    Task<IReadOnlyList<string>> VirshAsync(IReadOnlyList<string> commands, CancellationToken ct) =>
        throw new NotSupportedException("no interactive virsh on this transport");

    /// <summary>True once the interactive virsh has answered; until then callers use <see cref="RunAsync"/>.</summary>
    bool VirshReady => false;

    /// <summary>Starts the interactive virsh in the background (no-op where there is none).</summary>
    void PrepareVirsh() { }

    /// <summary>
    /// The host's libvirt as it can be reached now, never waiting: the native path once it is up (see
    /// <see cref="PrepareLibvirt"/>), else virsh over this connection.
    /// </summary>
    ILibvirtBackend Libvirt => new VirshBackend(this);

    /// <summary>
    /// The host's libvirt on its chosen path, brought up if need be (the native tunnel within the connect timeouts); a host
    /// whose native path cannot come up gets virsh (the reason shows in Get-VfConnection).
    /// </summary>
    Task<ILibvirtBackend> OpenLibvirtAsync(CancellationToken ct) => Task.FromResult(Libvirt);

    /// <summary>
    /// While the host's native path is up: a libvirt URI this machine's libvirt.so reaches the host's libvirtd through, for a
    /// connection of its own (event subscriptions). Null on the virsh path.
    /// </summary>
    string? NativeLibvirtUri => null;

    /// <summary>
    /// Says that this process has just changed the host's libvirt (a script under the exclusive lock ran, or a lifecycle
    /// action): what the native path keeps of its domains between listings is forgotten, since the change's events may
    /// not have come yet.
    /// </summary>
    void LibvirtChanged() { }

    /// <summary>Brings the host's chosen libvirt path up in the background (the native tunnel, or the interactive virsh).</summary>
    void PrepareLibvirt() => PrepareVirsh();

    /// <summary>
    /// Listens on a local loopback port (chosen by the system) and forwards each connection over this host's connection to
    /// <paramref name="remoteAddress"/>:<paramref name="remotePort"/> as the host sees it. Transports without forwarding throw
    /// NotSupportedException.
    /// </summary>
    Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct) =>
        throw new NotSupportedException("this transport cannot forward ports");

    /// <summary>
    /// Runs a long-lived simple command (build it with <see cref="ShellQuote"/>; never paste user values) on its own channel
    /// of this connection, handing each line it prints to <paramref name="onLine"/> (a background thread, one line at a
    /// time) as it comes. Ends when the command exits (0: normally; else a VfException naming what it said), when the
    /// connection drops (ConnectionLost), or when <paramref name="ct"/> is cancelled (the remote command is signalled and
    /// the task is cancelled). Transports without channels throw NotSupportedException.
    /// </summary>
    Task StreamLinesAsync(string command, Action<string> onLine, CancellationToken ct) =>
        throw new NotSupportedException("this transport cannot stream a command's output");

    /// <summary>Copies a local file to the host over SFTP, to a temporary name, renamed when complete.</summary>
    Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct);

    /// <summary>Copies a file of the host to a local path (the caller writes it to a temporary name and checks it).</summary>
    Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct) =>
        throw new NotSupportedException("this transport cannot copy files from the host");
}
