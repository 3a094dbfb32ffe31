using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace VirtFleet.CloudInit;

/// <summary>A file for <see cref="Iso9660Writer"/>: its path ("name", or "dir/dir/name") and its bytes.</summary>
public sealed record IsoFile(string Name, byte[] Content);

/// <summary>
/// Writes a small ISO9660 (ECMA-119) image holding a few files, in the root directory or in
/// subdirectories (an OpenStack config drive's openstack/latest/), with no external tool. The files are listed twice, both lists pointing at the same data:
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
/// Joliet M); from 23 the primary tree's directories, then the Joliet tree's, one sector each in
/// path-table order (root first, then level by level); then the file data, each file on its own
/// sector boundary. With files in the root only: primary root 23, Joliet root 24, data from 25.</para>
/// <para>"Both-endian" fields hold a little-endian copy followed by a big-endian copy; L path
/// tables are little-endian only, M path tables big-endian only.</para>
/// </summary>
public static class Iso9660Writer
{
    public const int SectorSize = 2048;
    private const int TrailingPadSectors = 150;

    /// <summary>The timestamp recorded when the caller gives none.</summary>
    public static readonly DateTime DefaultTimestamp = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private const int PrimarySector = 16, JolietSector = 17, TerminatorSector = 18, PathTablesSector = 19, FirstDirectorySector = 23;

    // Names this writer accepts (each path component): short, portable, and the same through both trees up to case.
    private static readonly Regex NamePattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$");
    private static readonly Regex VolumeIdPattern = new("^[A-Za-z0-9_-]{1,16}$");

    /// <summary>Builds the image. <paramref name="volumeId"/> is at most 16 of [A-Za-z0-9_-]; each component of a file's
    /// path is 1-30 of [A-Za-z0-9._-], and names in one directory stay unique after mapping to d-characters.</summary>
    public static byte[] Build(string volumeId, IEnumerable<IsoFile> files, DateTime? timestamp = null)
    {
        if (!VolumeIdPattern.IsMatch(volumeId)) throw new ArgumentException($"Invalid volume id '{volumeId}'.", nameof(volumeId));
        var time = (timestamp ?? DefaultTimestamp).ToUniversalTime();
        var list = files.ToList();
        var root = new Dir("", null);
        foreach (var f in list) root.Add(f.Name.Split('/'), f);
        var primary = Tree(root, joliet: false);
        var joliet = Tree(root, joliet: true);

        // Extents: every non-empty file starts on a fresh sector after the directories.
        var extents = new Dictionary<IsoFile, int>(ReferenceEqualityComparer.Instance);
        var next = FirstDirectorySector + primary.Count + joliet.Count;
        foreach (var f in list)
        {
            extents[f] = f.Content.Length == 0 ? 0 : next;
            next += (f.Content.Length + SectorSize - 1) / SectorSize;
        }
        // Zero padding at the end, as genisoimage -pad does: a guest's CD-ROM reads ahead past a tiny
        // volume, and busybox findfs did not recognize a 27-sector seed until it was padded.
        var total = next + TrailingPadSectors;
        var image = new byte[total * SectorSize];
        Span<byte> Sector(int n) => image.AsSpan(n * SectorSize, SectorSize);

        var primarySector = FirstDirectorySector;
        var jolietSector = FirstDirectorySector + primary.Count;
        var pathTableSize = WritePathTables(Sector(PathTablesSector), Sector(PathTablesSector + 1), primary, primarySector);
        WritePathTables(Sector(PathTablesSector + 2), Sector(PathTablesSector + 3), joliet, jolietSector);
        WriteDescriptor(Sector(PrimarySector), joliet: false, volumeId.ToUpperInvariant(), total, pathTableSize, PathTablesSector, PathTablesSector + 1, primarySector, time);
        WriteDescriptor(Sector(JolietSector), joliet: true, volumeId, total, pathTableSize, PathTablesSector + 2, PathTablesSector + 3, jolietSector, time);
        var terminator = Sector(TerminatorSector);
        terminator[0] = 255;
        WriteStandardId(terminator);

        WriteDirectories(primary, primarySector, extents, time, Sector);
        WriteDirectories(joliet, jolietSector, extents, time, Sector);
        foreach (var f in list) f.Content.CopyTo(image.AsSpan(extents[f] * SectorSize));
        return image;
    }

    // The directory tree as the paths give it; Build lays it out twice, once per naming.
    private sealed class Dir(string name, Dir? parent)
    {
        public string Name { get; } = name;
        public Dir? Parent { get; } = parent;
        public List<Dir> Dirs { get; } = [];
        public List<(string Name, IsoFile File)> Files { get; } = [];

        public void Add(string[] path, IsoFile file)
        {
            foreach (var part in path)
                if (!NamePattern.IsMatch(part)) throw new ArgumentException($"Invalid file name '{file.Name}'.", nameof(file));
            if (path.Length == 1)
            {
                Files.Add((path[0], file));
                var names = Files.Select(f => PrimaryName(f.Name)).Concat(Dirs.Select(d => DirectoryName(d.Name))).ToList();
                if (names.Distinct().Count() != names.Count)
                    throw new ArgumentException("File names collide once mapped to ISO9660 d-characters.", nameof(file));
                return;
            }
            var sub = Dirs.FirstOrDefault(d => d.Name == path[0]);
            if (sub is null)
            {
                if (Dirs.Any(d => DirectoryName(d.Name) == DirectoryName(path[0])) || Files.Any(f => f.Name == path[0]))
                    throw new ArgumentException("Directory names collide once mapped to ISO9660 d-characters.", nameof(file));
                Dirs.Add(sub = new Dir(path[0], this));
            }
            sub.Add(path[1..], file);
        }
    }

    // One directory of a tree in path-table order: its identifier in this tree's naming, its parent's
    // index (the root is its own parent), and its entries sorted by identifier bytes.
    private sealed record Laid(byte[] Id, int Parent, List<(byte[] Id, Dir? Dir, IsoFile? File)> Entries);

    // Level by level, and within a level by parent and then identifier: the order ECMA-119 9.4 asks of a path table.
    private static List<Laid> Tree(Dir root, bool joliet)
    {
        byte[] Id(string name, bool directory) => joliet ? Encoding.BigEndianUnicode.GetBytes(name)
            : Encoding.ASCII.GetBytes(directory ? DirectoryName(name) : PrimaryName(name));
        var laid = new List<Laid>();
        var index = new Dictionary<Dir, int>();
        var queue = new Queue<Dir>([root]);
        while (queue.TryDequeue(out var dir))
        {
            index[dir] = laid.Count;
            var entries = dir.Dirs.Select(d => (Id(d.Name, true), (Dir?)d, (IsoFile?)null))
                .Concat(dir.Files.Select(f => (Id(f.Name, false), (Dir?)null, (IsoFile?)f.File)))
                .OrderBy(e => e.Item1, ByteOrder).ToList();
            laid.Add(new Laid(dir.Parent is null ? [0] : Id(dir.Name, true), dir.Parent is null ? 0 : index[dir.Parent], entries));
            foreach (var (_, sub, _) in entries) if (sub is not null) queue.Enqueue(sub);
        }
        if (laid.Count > 64) throw new ArgumentException("Too many directories for this writer.");
        return laid;
    }

    // ECMA-119 9.4: one entry per directory (number = index + 1, the root its own parent); returns the table's size.
    private static int WritePathTables(Span<byte> little, Span<byte> big, List<Laid> tree, int firstSector)
    {
        var at = 0;
        for (var i = 0; i < tree.Count; i++)
        {
            var (id, parent, _) = tree[i];
            if (at + 8 + id.Length + 1 > SectorSize) throw new ArgumentException("The path table outgrows one sector.");
            little[at] = big[at] = (byte)id.Length;   // the extended attribute length, at + 1, stays 0
            BinaryPrimitives.WriteInt32LittleEndian(little[(at + 2)..], firstSector + i);
            BinaryPrimitives.WriteInt32BigEndian(big[(at + 2)..], firstSector + i);
            BinaryPrimitives.WriteInt16LittleEndian(little[(at + 6)..], (short)(parent + 1));
            BinaryPrimitives.WriteInt16BigEndian(big[(at + 6)..], (short)(parent + 1));
            id.CopyTo(little[(at + 8)..]);
            id.CopyTo(big[(at + 8)..]);
            at += 8 + id.Length + id.Length % 2;      // padded to an even length
        }
        return at;
    }

    private delegate Span<byte> SectorOf(int n);

    // Each directory: "." (itself), ".." (its parent; the root's is itself), then its entries.
    private static void WriteDirectories(List<Laid> tree, int firstSector, Dictionary<IsoFile, int> extents, DateTime time, SectorOf sector)
    {
        // Sub-directories are numbered in queue order, so a running counter over the entries gives their sectors.
        var n = 1;
        var numbers = new List<int[]>();
        foreach (var dir in tree) numbers.Add(dir.Entries.Select(e => e.Dir is null ? -1 : n++).ToArray());
        for (var i = 0; i < tree.Count; i++)
        {
            var s = sector(firstSector + i);
            var at = WriteRecord(s, [0], firstSector + i, SectorSize, directory: true, time);
            at += WriteRecord(s[at..], [1], firstSector + tree[i].Parent, SectorSize, directory: true, time);
            for (var e = 0; e < tree[i].Entries.Count; e++)
            {
                var (id, sub, file) = tree[i].Entries[e];
                if (at + 34 + id.Length > SectorSize) throw new ArgumentException("Too many files for a one-sector directory.");
                at += sub is not null
                    ? WriteRecord(s[at..], id, firstSector + numbers[i][e], SectorSize, directory: true, time)
                    : WriteRecord(s[at..], id, extents[file!], file!.Content.Length, directory: false, time);
            }
        }
    }

    /// <summary>The primary-tree identifier of a directory: uppercase d-characters, no extension or version.</summary>
    internal static string DirectoryName(string name) => D(name);

    private static string D(string s) => new(s.ToUpperInvariant().Select(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9' ? c : '_').ToArray());

    /// <summary>The primary-tree identifier: uppercase d-characters, "NAME.EXT;1" (ECMA-119 7.5).</summary>
    internal static string PrimaryName(string name)
    {
        var dot = name.LastIndexOf('.');
        return dot < 0 ? D(name) + ".;1" : D(name[..dot]) + "." + D(name[(dot + 1)..]) + ";1";
    }

    // ECMA-119 8.4 (primary) and Joliet's supplementary descriptor, which has the same shape.
    private static void WriteDescriptor(Span<byte> s, bool joliet, string volumeId, int totalSectors, int pathTableSize,
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
        Both32(s[132..], pathTableSize);
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
