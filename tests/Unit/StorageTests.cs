using VirtFleet.Storage;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>storage.sh against the fake host: what is used, orphaned or foreign, and that only orphans are removed.</summary>
public class StorageTests
{
    private static FakeHost Host()
    {
        var h = new FakeHost();
        // Overlays name their base in the image store (the fake qemu-img answers with it for any .qcow2 under instances).
        h.Stub("qemu-img", $$"""
            case "$*" in *instances/*.qcow2*) printf '{\n    "backing-filename": "{{h.Store}}/images/img/v-0123456789abcdef/disk.qcow2",\n    "format": "qcow2"\n}\n' ;; *) echo '{}' ;; esac
            """);
        h.Stub("df", "echo 'Size Used Avail'; echo '1000 400 600'");
        h.AddDomain("web1", Guid.NewGuid(), "running", "<domain><name>web1</name><devices><disk><source file='" + h.Store + "/instances/web1/root.qcow2'/></disk></devices></domain>");
        void F(string rel, string text = "x")
        {
            var p = Path.Combine(h.Store, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, text);
        }
        F("images/img/image.json", "{\"version\": \"v-0123456789abcdef\"}");
        F("images/img/v-0123456789abcdef/image.json");
        F("images/img/v-0123456789abcdef/disk.qcow2");
        F("images/img/v-00000000000000aa/image.json");
        F("images/img/v-00000000000000aa/disk.qcow2");
        F("instances/web1/root.qcow2");
        F("instances/gone/root.qcow2");
        F("instances/gone/.creating");
        F("instances/notes.txt");
        F("instances/gone/notes.txt");
        F("backup.img");
        F("network/networks.json");
        return h;
    }

    private static HostStorage List(FakeHost h) => StorageScripts.ListStep().RunAsync(h, default).GetAwaiter().GetResult();

    [Fact]
    public void FilesAreUsedOrphanedOrForeign()
    {
        using var h = Host();
        var s = List(h);
        string Rel(StoreFile f) => f.Path[(h.Store.Length + 1)..];
        var byPath = s.Files.ToDictionary(Rel, f => (f.Kind, f.State));
        Assert.Equal((StoreFileKind.Overlay, StoreFileState.Used), byPath["instances/web1/root.qcow2"]);
        Assert.Equal((StoreFileKind.Overlay, StoreFileState.Orphan), byPath["instances/gone/root.qcow2"]);
        Assert.Equal((StoreFileKind.Instance, StoreFileState.Orphan), byPath["instances/gone/.creating"]);
        Assert.Equal((StoreFileKind.Image, StoreFileState.Used), byPath["images/img/v-0123456789abcdef/disk.qcow2"]);
        Assert.Equal((StoreFileKind.Image, StoreFileState.Orphan), byPath["images/img/v-00000000000000aa/disk.qcow2"]);
        Assert.Equal((StoreFileKind.Network, StoreFileState.Used), byPath["network/networks.json"]);
        foreach (var f in new[] { "instances/notes.txt", "instances/gone/notes.txt", "backup.img" })
            Assert.Equal((StoreFileKind.Foreign, StoreFileState.Foreign), byPath[f]);
        Assert.Equal((1000, 400, 600), (s.SizeBytes, s.UsedBytes, s.FreeBytes));
    }

    [Fact]
    public void OnlyOrphansAreRemovedAndTheHostDecidesAgain()
    {
        using var h = Host();
        var paths = new[] { "instances/gone/root.qcow2", "instances/web1/root.qcow2", "backup.img", "instances/gone/notes.txt" }
            .Select(p => HostPaths.Store + "/" + p).ToList();
        var results = StorageScripts.RemoveStep(paths).RunAsync(h, default).GetAwaiter().GetResult();
        Assert.Equal([true, false, false, false], results.Select(r => r.Removed));
        Assert.False(File.Exists(Path.Combine(h.Store, "instances/gone/root.qcow2")));
        Assert.True(File.Exists(Path.Combine(h.Store, "instances/web1/root.qcow2")));
        Assert.True(File.Exists(Path.Combine(h.Store, "backup.img")));
        Assert.True(File.Exists(Path.Combine(h.Store, "instances/gone/notes.txt")));
        Assert.Throws<VfException>(() => StorageScripts.RemoveStep(["/etc/passwd"]));
        Assert.Throws<VfException>(() => StorageScripts.RemoveStep([HostPaths.Store + "/a\nb"]));
    }
}
