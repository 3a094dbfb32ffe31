using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using VirtFleet.Transport.Keeper;

namespace VirtFleet.Shell;

/// <summary>
/// How a vfsh process hands its command to the user's warm shell (<see cref="WarmShellServer"/>) and gets its output
/// back: frames of a 4-byte little-endian length, a kind byte and BinaryWriter fields, on a Unix domain socket in the
/// keeper folder. The socket's name carries a digest of what a warm shell was made with (this build, the module it
/// imported, the home folder, the module path, the trace setting), so a command meets only a shell made as its own
/// process would make it. Knows no PowerShell: a vfsh that hands its command over never loads the engine.
/// </summary>
internal static class WarmShellWire
{
    // Client to shell.
    public const byte Request = 1, Answer = 2, Stop = 3, Input = 4;
    // Shell to client.
    public const byte Busy = 10, Out = 11, Error = 12, AskLine = 13, AskSecret = 14, Exit = 15, AskInput = 16;

    /// <summary>The environment variables a warm shell was made with; a command with other values is run by its own process.</summary>
    public static readonly string[] MadeWith = ["HOME", "VIRTFLEET_MODULE", "PSModulePath", "VF_TRACE"];

    /// <summary>This user's warm shell socket for this build, this module build and these settings.</summary>
    public static string SocketPath(string module)
    {
        var identity = new StringBuilder(typeof(WarmShellWire).Assembly.ManifestModule.ModuleVersionId.ToString())
            .Append('\0').Append(Environment.ProcessPath).Append('\0').Append(module);
        foreach (var name in MadeWith) identity.Append('\0').Append(Environment.GetEnvironmentVariable(name));
        // A rebuilt module is another shell's: the time of each of its assemblies is part of the name.
        if (Path.GetDirectoryName(module) is { Length: > 0 } folder && Directory.Exists(folder))
            foreach (var dll in Directory.EnumerateFiles(folder, "*.dll", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                identity.Append('\0').Append(dll).Append('@').Append(File.GetLastWriteTimeUtc(dll).Ticks);
        var digest = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity.ToString())))[..16].ToLowerInvariant();
        return Path.Combine(KeeperSettings.Folder, $"vfsh-{digest}.sock");
    }

    public static byte[] Frame(byte kind, Action<BinaryWriter>? fill = null)
    {
        var ms = new MemoryStream();
        ms.Write(stackalloc byte[4]);
        ms.WriteByte(kind);
        if (fill is not null)
            using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) fill(w);
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    /// <summary>The next frame (its kind, then its fields); null when the other side closed.</summary>
    public static BinaryReader? Read(Stream s)
    {
        Span<byte> head = stackalloc byte[4];
        if (s.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4) return null;
        var length = BinaryPrimitives.ReadInt32LittleEndian(head);
        if (length is < 1 or > 64 << 20) throw new InvalidDataException($"a warm shell frame of {length} bytes");
        var body = new byte[length];
        s.ReadExactly(body);
        return new BinaryReader(new MemoryStream(body), Encoding.UTF8);
    }

    /// <summary>Writes whole frames one at a time (output and answers come from several threads).</summary>
    public sealed class Sender(Stream stream)
    {
        private readonly Lock _gate = new();

        /// <summary>False when the other side is gone.</summary>
        public bool Send(byte[] frame)
        {
            lock (_gate)
            {
                try { stream.Write(frame); stream.Flush(); return true; }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException) { return false; }
            }
        }
    }
}
