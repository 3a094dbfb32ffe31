using System.Buffers.Binary;

namespace VirtFleet.Images;

/// <summary>
/// Refuses untrusted disk images before they reach a host: a qcow2 with a backing file or an external
/// data file (either can make qemu read any file on the host), or a "raw" file carrying a qcow2 header.
/// </summary>
public static class DiskImageCheck
{
    private const ulong ExternalDataFileBit = 1UL << 2;

    /// <summary>Checks the file and returns its virtual size in bytes.</summary>
    public static long Check(string path, string declaredFormat = "qcow2")
    {
        Span<byte> header = stackalloc byte[104];
        using (var f = File.OpenRead(path))
        {
            var n = f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            header = header[..n];
        }
        var isQcow = header.Length >= 4 && header[0] == 0x51 && header[1] == 0x46 && header[2] == 0x49 && header[3] == 0xfb;
        if (declaredFormat == "raw")
        {
            if (isQcow) throw Refuse(path, "RawImageWithQcow2Header", "is declared raw but carries a qcow2 header");
            return new FileInfo(path).Length;
        }
        if (!isQcow || header.Length < 72) throw Refuse(path, "NotQcow2", "is not a qcow2 image");
        var version = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        var backingOffset = BinaryPrimitives.ReadUInt64BigEndian(header[8..]);
        var size = (long)BinaryPrimitives.ReadUInt64BigEndian(header[24..]);
        if (backingOffset != 0) throw Refuse(path, "Qcow2BackingFile", "has a backing file");
        if (version >= 3 && header.Length >= 80)
        {
            var incompatible = BinaryPrimitives.ReadUInt64BigEndian(header[72..]);
            if ((incompatible & ExternalDataFileBit) != 0) throw Refuse(path, "Qcow2ExternalDataFile", "uses an external data file");
        }
        return size;
    }

    private static VfException Refuse(string path, string id, string why) =>
        new(id, FailureKind.SecurityError, $"Refusing image {path}: it {why}.", path);
}
