using System.Net.Sockets;
using System.Runtime.Versioning;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// Where the per-user connection keeper listens and how long it stays: a Unix domain socket in a folder only the user
/// can enter ($XDG_RUNTIME_DIR/virtfleet, else virtfleet-UID in the temporary folder; mode 0700, never a symlink).
/// $env:VF_KEEPER=0 turns the keeper off; $env:VF_KEEPER_IDLE is its idle time in seconds (default 300).
/// Windows has no keeper yet (commands connect directly there). Knows only the base library: vfsh compiles it too.
/// </summary>
public static class KeeperSettings
{
    public const string SwitchVariable = "VF_KEEPER";
    public const string IdleVariable = "VF_KEEPER_IDLE";
    public static readonly TimeSpan DefaultIdle = TimeSpan.FromMinutes(5);

    /// <summary>Why the keeper is not used on this machine or by this user's choice; null when it may be.</summary>
    public static string? DisabledReason =>
        OperatingSystem.IsWindows() ? "no keeper on Windows yet"
        : Environment.GetEnvironmentVariable(SwitchVariable)?.Trim().ToLowerInvariant() is "0" or "off" or "false" or "no"
            ? $"turned off (${SwitchVariable}=0)"
            : null;

    /// <summary>How long the keeper lives without a request ($env:VF_KEEPER_IDLE seconds, 5..86400; default 300).</summary>
    public static TimeSpan Idle =>
        int.TryParse(Environment.GetEnvironmentVariable(IdleVariable), out var s) && s is >= 5 and <= 86400 ? TimeSpan.FromSeconds(s) : DefaultIdle;

    /// <summary>The user's keeper folder.</summary>
    public static string Folder =>
        Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } run && Path.IsPathRooted(run) && Directory.Exists(run)
            ? Path.Combine(run, "virtfleet")
            : Path.Combine(Path.GetTempPath(), "virtfleet-" + PeerCredentials.EffectiveUid);

    public static string Socket => Path.Combine(Folder, "keeper.sock");

    /// <summary>
    /// Makes the folder (0700) or checks the one there: a real folder (no symlink) that nobody but its owner may enter
    /// or write. Whoever else made it first could not be its owner-only user and us at once, so that is enough with the
    /// peer check on every connection. Returns why the folder is not to be used, or null.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    public static string? FolderProblem(string folder)
    {
        if (!Directory.Exists(folder)) Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var info = new DirectoryInfo(folder);
        var mode = File.GetUnixFileMode(folder);
        const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if (info.LinkTarget is not null) return $"the keeper folder {folder} is a symlink; not used.";
        if ((mode & Others) != 0) return $"the keeper folder {folder} is open to other users (mode {Convert.ToString((int)mode, 8)}); not used.";
        return null;
    }

    /// <summary>
    /// Listens at <paramref name="socketPath"/> without a caller ever meeting a half-made socket: bound under a private
    /// name beside it (mode 0600), then renamed over it (atomic; a stale file of a dead server is replaced). When
    /// <paramref name="someoneAnswers"/> finds a live server there already, that one is left alone and null comes back.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    public static async Task<Socket?> ListenAsync(string socketPath, int backlog, Func<Task<bool>> someoneAnswers)
    {
        var staging = socketPath + "." + Environment.ProcessId;
        File.Delete(staging);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(staging));
            File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(backlog);
            if (await someoneAnswers())
            {
                listener.Dispose();
                File.Delete(staging);
                return null;
            }
            File.Move(staging, socketPath, overwrite: true);
            return listener;
        }
        catch
        {
            listener.Dispose();
            File.Delete(staging);
            throw;
        }
    }
}
