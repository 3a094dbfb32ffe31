using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using VirtFleet.CloudInit;
using Xunit;
using T = VirtFleet.Tests.CloudInitTooling;

namespace VirtFleet.Tests;

/// <summary>Iso9660Writer and the seed image, checked by the tools a host or guest would use.</summary>
public class CloudInitIsoTests
{
    private static readonly NoCloudSeed Sample = new()
    {
        InstanceId = "i-0042", Hostname = "web-1",
        SshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOurKeyA admin@fleet"],
        UserData = "#!/bin/sh\necho \"$(id)\" > /tmp/x\n",
        NetworkConfig = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n",
    };

    // Beyond the seed: a file spanning sectors, an empty one, and one with an extension.
    private static readonly IsoFile[] Odd =
    [
        new("big.bin", Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray()),
        new("empty", []),
        new("notes.txt", "hello\r\n"u8.ToArray()),
    ];

    private static IsoFile[] AllFiles => [.. Sample.Files(), .. Odd];

    private static string WriteIso(T.TempDir dir, IEnumerable<IsoFile> files)
    {
        var path = dir["x.iso"];
        File.WriteAllBytes(path, Iso9660Writer.Build(NoCloudSeed.VolumeLabel, files));
        return path;
    }

    [Fact]
    public void OutputIsDeterministicAndFollowsTheTimestamp()
    {
        var a = Sample.ToIso();
        Assert.Equal(a, Sample.ToIso());
        Assert.NotEqual(a, Sample.ToIso(new DateTime(2031, 5, 6, 7, 8, 9, DateTimeKind.Utc)));
        // Pinned: a change here changes the bytes every guest sees; update it knowingly (last: 150 sectors of end padding).
        Assert.Equal("D1C4265FE1193256B9CBC6B5F45E95866C2BFA86F2E9764F67C9DE81DD695D97", Convert.ToHexString(SHA256.HashData(a)));
    }

    [Fact]
    public void DescriptorsSitWhereEcma119PutsThem()
    {
        var iso = Iso9660Writer.Build("cidata", AllFiles);
        Assert.Equal(0, iso.Length % Iso9660Writer.SectorSize);
        Assert.All(iso.Take(16 * 2048), b => Assert.Equal(0, b));
        ReadOnlySpan<byte> Sector(int n) => iso.AsSpan(n * 2048, 2048);
        Assert.Equal([1, 2, 255], new[] { 16, 17, 18 }.Select(n => (int)Sector(n)[0]));
        Assert.All(new[] { 16, 17, 18 }, n => Assert.Equal("CD001", Encoding.ASCII.GetString(iso, n * 2048 + 1, 5)));
        Assert.Equal("CIDATA".PadRight(32), Encoding.ASCII.GetString(Sector(16).Slice(40, 32)));
        Assert.Equal("cidata".PadRight(16), Encoding.BigEndianUnicode.GetString(Sector(17).Slice(40, 32)));
        Assert.Equal("%/E", Encoding.ASCII.GetString(Sector(17).Slice(88, 3)));
        // Both-endian volume space size = the image's sector count.
        Assert.Equal(iso.Length / 2048, BinaryPrimitives.ReadInt32LittleEndian(Sector(16)[80..]));
        Assert.Equal(iso.Length / 2048, BinaryPrimitives.ReadInt32BigEndian(Sector(16)[84..]));
    }

    [Fact]
    public void BadNamesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Iso9660Writer.Build("cidata", [new("../x", [])]));
        Assert.Throws<ArgumentException>(() => Iso9660Writer.Build("cidata", [new("a-b", []), new("A_B", [])]));
        Assert.Throws<ArgumentException>(() => Iso9660Writer.Build("ci data", []));
        Assert.Equal("META_DATA.;1", Iso9660Writer.PrimaryName("meta-data"));
        Assert.Equal("NOTES.TXT;1", Iso9660Writer.PrimaryName("notes.txt"));
    }

    [CloudInitFact("isoinfo")]
    public void IsoinfoSeesTheVolumeAndJoliet()
    {
        using var dir = new T.TempDir();
        var info = T.Ok("isoinfo", "-d", "-i", WriteIso(dir, AllFiles));
        Assert.Contains("Volume id: CIDATA\n", info);
        Assert.Contains("Joliet with UCS level 3 found", info);
        Assert.Contains("Logical block size is: 2048", info);
    }

    [CloudInitFact("isoinfo")]
    public void IsoinfoExtractsIdenticalBytesThroughBothTrees()
    {
        using var dir = new T.TempDir();
        var iso = WriteIso(dir, AllFiles);
        Assert.Equal(AllFiles.Select(f => f.Name).Order(StringComparer.Ordinal), JolietNames(iso));
        foreach (var f in AllFiles)
        {
            Assert.Equal(f.Content, T.Run("isoinfo", null, "-J", "-i", iso, "-x", "/" + f.Name).Out);
            Assert.Equal(f.Content, T.Run("isoinfo", null, "-i", iso, "-x", "/" + Iso9660Writer.PrimaryName(f.Name)).Out);
        }
        Assert.Contains("META_DATA.;1", T.Ok("isoinfo", "-l", "-i", iso));
    }

    private static List<string> JolietNames(string iso) =>
        T.Ok("isoinfo", "-J", "-l", "-i", iso).Split('\n')
            .Where(l => l.Contains("]  ")).Select(l => l[(l.IndexOf("]  ", StringComparison.Ordinal) + 3)..].TrimEnd())
            .Where(n => n is not ("." or "..")).ToList();

    [CloudInitFact("blkid")]
    public void BlkidReportsAnIso9660VolumeLabelledCidata()
    {
        using var dir = new T.TempDir();
        var props = T.Ok("blkid", "-p", "-o", "export", WriteIso(dir, Sample.Files())).Split('\n');
        Assert.Contains("TYPE=iso9660", props);
        Assert.Contains("LABEL=cidata", props);
    }

    /// <summary>libarchive: what cloudbase-init extracts a seed disk with.</summary>
    [CloudInitFact("bsdtar")]
    public void BsdtarExtractsTheFiles()
    {
        using var dir = new T.TempDir();
        var iso = WriteIso(dir, AllFiles);
        var listed = T.Ok("bsdtar", "-tf", iso).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n != ".").Order(StringComparer.Ordinal);
        Assert.Equal(AllFiles.Select(f => f.Name).Order(StringComparer.Ordinal), listed);
        var output = Directory.CreateDirectory(dir["out"]).FullName;
        T.Ok("bsdtar", "-xf", iso, "-C", output);
        Assert.All(AllFiles, f => Assert.Equal(f.Content, File.ReadAllBytes(Path.Combine(output, f.Name))));
    }

    [CloudInitFact("isoinfo", "genisoimage")]
    public void ReadsTheSameAsGenisoimageOutput()
    {
        using var dir = new T.TempDir();
        var source = Directory.CreateDirectory(dir["src"]).FullName;
        foreach (var f in Sample.Files()) File.WriteAllBytes(Path.Combine(source, f.Name), f.Content);
        var theirs = dir["genisoimage.iso"];
        T.Ok("genisoimage", "-quiet", "-o", theirs, "-V", "cidata", "-J", "-r", source);
        var ours = WriteIso(dir, Sample.Files());

        Assert.Equal(JolietNames(theirs), JolietNames(ours));
        foreach (var name in JolietNames(ours))
            Assert.Equal(T.Run("isoinfo", null, "-J", "-i", theirs, "-x", "/" + name).Out, T.Run("isoinfo", null, "-J", "-i", ours, "-x", "/" + name).Out);
        if (T.Has("blkid"))
            Assert.Equal(Label(theirs), Label(ours));

        static string Label(string iso) => T.Ok("blkid", "-p", "-o", "value", "-s", "LABEL", iso).Trim();
    }

    [CloudInitFact("kernel:iso9660")]
    public void MountsReadOnlyThroughALoopDevice()
    {
        using var dir = new T.TempDir();
        var iso = WriteIso(dir, AllFiles);
        var mountPoint = Directory.CreateDirectory(dir["mnt"]).FullName;
        T.Ok("mount", "-o", "loop,ro", iso, mountPoint);
        try
        {
            Assert.Equal(AllFiles.Select(f => f.Name).Order(StringComparer.Ordinal),
                Directory.GetFiles(mountPoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.All(AllFiles, f => Assert.Equal(f.Content, File.ReadAllBytes(Path.Combine(mountPoint, f.Name))));
        }
        finally { T.Ok("umount", mountPoint); }
    }
}
