using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VirtFleet.Transport.Keeper;

/// <summary>Who is at the other end of a Unix domain socket (SO_PEERCRED on Linux, getpeereid on macOS), and who we are.</summary>
public static class PeerCredentials
{
    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "getpeereid", SetLastError = true)]
    private static extern int GetPeerEid(IntPtr fd, out uint uid, out uint gid);

    public static uint EffectiveUid => OperatingSystem.IsWindows() ? uint.MaxValue : GetEuid();

    /// <summary>The user id of the process at the other end; null when the platform cannot tell (then the peer is refused).</summary>
    public static uint? PeerUid(Socket socket)
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
                Span<byte> cred = stackalloc byte[12];
                const int SolSocket = 1, SoPeerCred = 17;
                return socket.GetRawSocketOption(SolSocket, SoPeerCred, cred) == 12 ? BitConverter.ToUInt32(cred[4..8]) : null;
            }
            if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
                return GetPeerEid(socket.Handle, out var uid, out _) == 0 ? uid : null;
        }
        catch (Exception ex) when (ex is SocketException or EntryPointNotFoundException or DllNotFoundException) { }
        return null;
    }

    /// <summary>True when the peer runs as this process's effective user.</summary>
    public static bool IsSameUser(Socket socket, out uint? peer)
    {
        peer = PeerUid(socket);
        return peer is { } p && p == EffectiveUid;
    }
}
