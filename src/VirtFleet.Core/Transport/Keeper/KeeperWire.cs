using System.Buffers.Binary;

namespace VirtFleet.Transport.Keeper;

/// <summary>
/// The keeper's framing: each frame is a 4-byte little-endian length and that many bytes, read with BinaryReader.
/// A request is one frame; its answer is zero or more progress frames and one result or failure frame.
/// </summary>
internal static class KeeperWire
{
    /// <summary>The largest frame either side accepts (two 64 MiB outputs and their framing).</summary>
    public const int MaxFrame = 160 << 20;
    public const byte Progress = 1, Result = 2, Failure = 3;
    /// <summary>Failure kinds: a VfException, NotSupportedException (callers fall back), ArgumentException, anything else.</summary>
    public const byte FailVf = 1, FailNotSupported = 2, FailArgument = 3, FailOther = 4;

    public static byte[] Frame(Action<BinaryWriter> fill)
    {
        var ms = new MemoryStream();
        ms.Write(stackalloc byte[4]);
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) fill(w);
        var bytes = ms.ToArray();
        if (bytes.Length - 4 > MaxFrame) throw new VfException("KeeperFrameTooLarge", FailureKind.InvalidData, "a keeper message is larger than 160 MiB.");
        BinaryPrimitives.WriteInt32LittleEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    public static async Task WriteAsync(Stream s, byte[] frame, CancellationToken ct)
    {
        await s.WriteAsync(frame, ct);
        await s.FlushAsync(ct);
    }

    /// <summary>The next frame's body; null when the stream ended cleanly before one.</summary>
    public static async Task<BinaryReader?> ReadAsync(Stream s, CancellationToken ct)
    {
        var head = new byte[4];
        var got = await s.ReadAtLeastAsync(head, 4, throwOnEndOfStream: false, ct);
        if (got == 0) return null;
        if (got < 4) throw new EndOfStreamException("the keeper connection closed inside a frame");
        var length = BinaryPrimitives.ReadInt32LittleEndian(head);
        if (length is < 0 or > MaxFrame) throw new InvalidDataException($"a keeper frame of {length} bytes");
        var body = new byte[length];
        await s.ReadExactlyAsync(body, ct);
        return new BinaryReader(new MemoryStream(body), System.Text.Encoding.UTF8);
    }

    public static void WriteOptional(this BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    public static string? ReadOptional(this BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    public static void WriteBytes(this BinaryWriter w, byte[]? value)
    {
        w.Write(value?.Length ?? -1);
        if (value is not null) w.Write(value);
    }

    public static byte[]? ReadBytes(this BinaryReader r)
    {
        var n = r.ReadInt32();
        return n < 0 ? null : r.ReadBytes(n);
    }

    public static void WriteStrings(this BinaryWriter w, IReadOnlyList<string> values)
    {
        w.Write(values.Count);
        foreach (var v in values) w.Write(v);
    }

    public static List<string> ReadStrings(this BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n is < 0 or > 1_000_000) throw new InvalidDataException("a keeper list of " + n);
        var list = new List<string>(n);
        for (var i = 0; i < n; i++) list.Add(r.ReadString());
        return list;
    }

    /// <summary>A failure frame carrying what the caller needs to rethrow the same error.</summary>
    public static byte[] FailureFrame(Exception ex) => Frame(w =>
    {
        w.Write(Failure);
        switch (ex)
        {
            case VfException vf:
                w.Write(FailVf); w.Write(vf.ErrorId); w.Write((int)vf.Kind); w.Write(vf.Message); w.WriteOptional(vf.Target); break;
            case NotSupportedException: w.Write(FailNotSupported); w.Write(ex.Message); break;
            case ArgumentException: w.Write(FailArgument); w.Write(ex.Message); break;
            default: w.Write(FailOther); w.Write($"{ex.GetType().Name}: {ex.Message}"); break;
        }
    });

    /// <summary>The exception a failure frame (its kind byte already read) stands for.</summary>
    public static Exception ReadFailure(BinaryReader r) => r.ReadByte() switch
    {
        FailVf => new VfException(r.ReadString(), (FailureKind)r.ReadInt32(), r.ReadString(), r.ReadOptional()),
        FailNotSupported => new NotSupportedException(r.ReadString()),
        FailArgument => new ArgumentException(r.ReadString()),
        _ => new VfException("KeeperFailed", FailureKind.InvalidOperation, "the connection keeper failed: " + r.ReadString()),
    };
}
