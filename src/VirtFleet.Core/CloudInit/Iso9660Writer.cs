using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace VirtFleet.CloudInit;

/// <summary>A file for <see cref="Iso9660Writer"/>: its name in the root directory and its bytes.</summary>
public sealed record IsoFile(string Name, byte[] Content);

/// <summary>
/// Writes a small ISO9660 (ECMA-119) image holding one root directory of files, with no external
/// tool. The files are listed twice, both lists pointing at the same data:
/// <list type="bullet">
/// <item>the primary volume descriptor, with d-character names (<c>META_DATA.;1</c>) and an
/// uppercase volume id, as the standard requires;</item>
/// <item>a Joliet supplementary descriptor with the names and volume id exactly as given, in UCS-2.
/// Linux's iso9660 driver (without Rock Ridge), Windows, libarchive and blkid read this one.</item>
/// </list>
/// So a seed labelled "cidata" shows as CIDATA in the primary descriptor and as cidata to blkid
/// (which prefers Joliet) and Windows; cloud-init looks for either case.
/// The output depends only on the arguments (timestamps included), so it can be hashed.
/// <para>Layout in 2048-byte sectors: 0-15 system area (zeros); 16 primary descriptor; 17 Joliet
/// descriptor; 18 descriptor-set terminator; 19-22 path tables (primary L, primary M, Joliet L,
/// Joliet M); 23 primary root directory; 24 Joliet root directory; 25- file data, each file on
/// its own sector boundary.</para>
/// <para>"Both-endian" fields hold a little-endian copy followed by a big-endian copy; L path
/// tables are little-endian only, M path tables big-endian only.</para>
/// </summary>
public static class Iso9660Writer
{
    public const int SectorSize = 2048;
    private const int TrailingPadSectors = 150;

    /// <summary>The timestamp recorded when the caller gives none.</summary>
    public static readonly DateTime DefaultTimestamp = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private const int PrimarySector = 16, JolietSector = 17, TerminatorSector = 18, PathTablesSector = 19,
        PrimaryRootSector = 23, JolietRootSector = 24, FirstDataSector = 25;
    private const int PathTableSize = 10; // one entry: the root (ECMA-119 9.4)

    // Names this writer accepts: short, portable, and the same through both trees up to case.
    private static readonly Regex NamePattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$");
    private static readonly Regex VolumeIdPattern = new("^[A-Za-z0-9_-]{1,16}$");

    /// <summary>Builds the image. <paramref name="volumeId"/> is at most 16 of [A-Za-z0-9_-]; file
    /// names are 1-30 of [A-Za-z0-9._-], unique even after mapping to d-characters.</summary>
    public static byte[] Build(string volumeId, IEnumerable<IsoFile> files, DateTime? timestamp = null)
    {
        if (!VolumeIdPattern.IsMatch(volumeId)) throw new ArgumentException($"Invalid volume id '{volumeId}'.", nameof(volumeId));
        var time = (timestamp ?? DefaultTimestamp).ToUniversalTime();
        var list = files.ToList();
        foreach (var f in list)
            if (!NamePattern.IsMatch(f.Name)) throw new ArgumentException($"Invalid file name '{f.Name}'.", nameof(files));
        if (list.Select(f => PrimaryName(f.Name)).Distinct().Count() != list.Count)
            throw new ArgumentException("File names collide once mapped to ISO9660 d-characters.", nameof(files));

        // Extents: every non-empty file starts on a fresh sector after the directories.
        var extents = new int[list.Count];
        var next = FirstDataSector;
        for (var i = 0; i < list.Count; i++)
        {
            extents[i] = list[i].Content.Length == 0 ? 0 : next;
            next += (list[i].Content.Length + SectorSize - 1) / SectorSize;
        }
        // Zero padding at the end, as genisoimage -pad does: a guest's CD-ROM reads ahead past a tiny
        // volume, and busybox findfs did not recognize a 27-sector seed until it was padded.
        var total = next + TrailingPadSectors;
        var image = new byte[total * SectorSize];
        Span<byte> Sector(int n) => image.AsSpan(n * SectorSize, SectorSize);

        WriteDescriptor(Sector(PrimarySector), joliet: false, volumeId.ToUpperInvariant(), total, PathTablesSector, PathTablesSector + 1, PrimaryRootSector, time);
        WriteDescriptor(Sector(JolietSector), joliet: true, volumeId, total, PathTablesSector + 2, PathTablesSector + 3, JolietRootSector, time);
        var terminator = Sector(TerminatorSector);
        terminator[0] = 255;
        WriteStandardId(terminator);

        WritePathTable(Sector(PathTablesSector), PrimaryRootSector, bigEndian: false);
        WritePathTable(Sector(PathTablesSector + 1), PrimaryRootSector, bigEndian: true);
        WritePathTable(Sector(PathTablesSector + 2), JolietRootSector, bigEndian: false);
        WritePathTable(Sector(PathTablesSector + 3), JolietRootSector, bigEndian: true);

        var order = Enumerable.Range(0, list.Count);
        WriteRoot(Sector(PrimaryRootSector), PrimaryRootSector, time, order
            .Select(i => (Encoding.ASCII.GetBytes(PrimaryName(list[i].Name)), extents[i], list[i].Content.Length))
            .OrderBy(e => e.Item1, ByteOrder));
        WriteRoot(Sector(JolietRootSector), JolietRootSector, time, order
            .Select(i => (Encoding.BigEndianUnicode.GetBytes(list[i].Name), extents[i], list[i].Content.Length))
            .OrderBy(e => e.Item1, ByteOrder));

        for (var i = 0; i < list.Count; i++) list[i].Content.CopyTo(image.AsSpan(extents[i] * SectorSize));
        return image;
    }

    /// <summary>The primary-tree identifier: uppercase d-characters, "NAME.EXT;1" (ECMA-119 7.5).</summary>
    internal static string PrimaryName(string name)
    {
        static string D(string s) => new(s.ToUpperInvariant().Select(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9' ? c : '_').ToArray());
        var dot = name.LastIndexOf('.');
        return dot < 0 ? D(name) + ".;1" : D(name[..dot]) + "." + D(name[(dot + 1)..]) + ";1";
    }

    // ECMA-119 8.4 (primary) and Joliet's supplementary descriptor, which has the same shape.
    private static void WriteDescriptor(Span<byte> s, bool joliet, string volumeId, int totalSectors,
        int pathTableL, int pathTableM, int rootSector, DateTime time)
    {
        s[0] = joliet ? (byte)2 : (byte)1;
        WriteStandardId(s);
        WriteText(s.Slice(8, 32), "", joliet);              // system identifier
        WriteText(s.Slice(40, 32), volumeId, joliet);       // volume identifier
        Both32(s[80..], totalSectors);                      // volume space size
        if (joliet) "%/E"u8.CopyTo(s[88..]);                // escape sequence: UCS-2 level 3
        Both16(s[120..], 1);                                // volume set size
        Both16(s[124..], 1);                                // volume sequence number
        Both16(s[128..], SectorSize);                       // logical block size
        Both32(s[132..], PathTableSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[140..], pathTableL);
        BinaryPrimitives.WriteInt32BigEndian(s[148..], pathTableM);
        WriteRecord(s[156..], [0], rootSector, SectorSize, directory: true, time);
        foreach (var (offset, length) in new[] { (190, 128), (318, 128), (446, 128), (574, 128), (702, 37), (739, 37), (776, 37) })
            WriteText(s.Slice(offset, length), "", joliet); // volume set, publisher, preparer, application, 3 file ids
        WriteLongDate(s[813..], time);                      // creation
        WriteLongDate(s[830..], time);                      // modification
        WriteLongDate(s[847..], null);                      // expiration: none
        WriteLongDate(s[864..], null);                      // effective: at once
        s[881] = 1;                                         // file structure version
    }

    private static void WriteStandardId(Span<byte> s)
    {
        "CD001"u8.CopyTo(s[1..]);
        s[6] = 1; // descriptor version
    }

    // Space-padded text: ASCII for the primary descriptor, UCS-2 big-endian for Joliet.
    private static void WriteText(Span<byte> field, string text, bool joliet)
    {
        if (!joliet) { field.Fill((byte)' '); Encoding.ASCII.GetBytes(text, field); return; }
        Encoding.BigEndianUnicode.GetBytes(text.PadRight(field.Length / 2), field);
        if (field.Length % 2 == 1) field[^1] = 0;
    }

    // ECMA-119 9.4: one path table entry for the root (directory number 1, its own parent).
    private static void WritePathTable(Span<byte> s, int rootSector, bool bigEndian)
    {
        s[0] = 1; // identifier length; s[1], the extended attribute length, stays 0
        if (bigEndian) { BinaryPrimitives.WriteInt32BigEndian(s[2..], rootSector); BinaryPrimitives.WriteInt16BigEndian(s[6..], 1); }
        else { BinaryPrimitives.WriteInt32LittleEndian(s[2..], rootSector); BinaryPrimitives.WriteInt16LittleEndian(s[6..], 1); }
        // s[8] = 0 is the root's identifier, s[9] the pad to an even length.
    }

    // The root directory: "." and ".." (both the root itself), then one record per file.
    private static void WriteRoot(Span<byte> s, int rootSector, DateTime time, IEnumerable<(byte[] Id, int Extent, int Size)> files)
    {
        var at = WriteRecord(s, [0], rootSector, SectorSize, directory: true, time);
        at += WriteRecord(s[at..], [1], rootSector, SectorSize, directory: true, time);
        foreach (var (id, extent, size) in files)
        {
            if (at + 34 + id.Length > SectorSize) throw new ArgumentException("Too many files for a one-sector root directory.");
            at += WriteRecord(s[at..], id, extent, size, directory: false, time);
        }
    }

    // Identifiers sort by their encoded bytes: d-characters for the primary tree, UCS-2 big-endian
    // (the same order as its code units) for Joliet.
    private static readonly Comparer<byte[]> ByteOrder = Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b));

    // ECMA-119 9.1: a directory record; returns its length, padded to even.
    private static int WriteRecord(Span<byte> s, ReadOnlySpan<byte> id, int extent, int size, bool directory, DateTime t)
    {
        var length = 33 + id.Length + (id.Length % 2 == 0 ? 1 : 0);
        s[0] = (byte)length;                 // s[1], the extended attribute length, stays 0
        Both32(s[2..], extent);
        Both32(s[10..], size);
        s[18] = (byte)(t.Year - 1900);       // recording time (9.1.5), UTC so offset s[24] = 0
        s[19] = (byte)t.Month; s[20] = (byte)t.Day; s[21] = (byte)t.Hour; s[22] = (byte)t.Minute; s[23] = (byte)t.Second;
        s[25] = directory ? (byte)2 : (byte)0; // flags; unit size and interleave gap stay 0
        Both16(s[28..], 1);                  // volume sequence number
        s[32] = (byte)id.Length;
        id.CopyTo(s[33..]);
        return length;
    }

    // ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" in ASCII digits plus a GMT offset byte; all zeros = unset.
    private static void WriteLongDate(Span<byte> s, DateTime? t)
    {
        Encoding.ASCII.GetBytes(t?.ToString("yyyyMMddHHmmss00", System.Globalization.CultureInfo.InvariantCulture) ?? "0000000000000000", s);
        s[16] = 0;
    }

    private static void Both16(Span<byte> s, int v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)v);
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], (ushort)v);
    }

    private static void Both32(Span<byte> s, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(s, v);
        BinaryPrimitives.WriteInt32BigEndian(s[4..], v);
    }
}
