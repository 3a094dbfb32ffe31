using VirtFleet.Images;
using VirtFleet.Operations;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Image, key pair and host-check operations against fake hosts.</summary>
public class CatalogOperationsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>The image store listing of a host holding these images.</summary>
    private static void HoldImages(OperationsFakeHost host, params string[] images)
    {
        var previous = host.Other;
        host.Other = script => script.Contains("\"$VF_STORE\"/images/*/image.json")
            ? new CommandResult(0, string.Concat(images.Select(i => "@@VF-IMAGE@@\n" + new ImageManifest { Name = i, OsFamily = "linux", VirtualSize = 64L << 20 }.ToJson() + "\n")), "")
            : previous(script);
    }

    [Fact]
    public async Task ListImagesNamesTheHostsHoldingEachAndFiltersByName()
    {
        using var fleet = new OperationsFakeFleet(3);
        HoldImages(fleet["h1"], "vflinux", "win2008");
        HoldImages(fleet["h2"], "vflinux");
        fleet["h3"].Down = true;
        var listing = await ImageOperations.ListAsync(fleet.Scope, fleet.Inventory.Hosts, ["vf*"], None);
        var image = Assert.Single(listing.Images);
        Assert.Equal("vflinux", image.Name);
        Assert.Equal(["h1", "h2"], image.Hosts);
        Assert.Equal(64, image.VirtualSizeMiB);
        Assert.Equal(["vflinux", "win2008"], listing.Seen.Order());
        Assert.Equal("h3", Assert.Single(fleet.Report.Failures).Target);
    }

    [Fact]
    public async Task RemoveImageIsRefusedWhereAnInstanceUsesItAndAsksForEachHost()
    {
        using var fleet = new OperationsFakeFleet(2, shouldProcess: (target, _) => target != "vflinux on h2");
        fleet["h1"].Add("web-1", image: "vflinux");
        var removed = await ImageOperations.RemoveAsync(fleet.Scope, "vflinux", fleet.Inventory.Hosts, force: false, None);
        Assert.Empty(removed);
        var e = Assert.Single(fleet.Report.Failures);
        Assert.Equal("ImageInUse", e.ErrorId);
        Assert.Equal("h1: image vflinux is used by web-1; remove them first or use -Force.", e.Message);
        Assert.Equal("h1", e.Target);
        Assert.Equal(["Remove image: vflinux on h1", "Remove image: vflinux on h2"], fleet.Report.Asked);
        Assert.Empty(fleet["h2"].Scripts); // declined: not even read

        fleet.Report.Failures.Clear();
        Assert.Equal(["h1"], await ImageOperations.RemoveAsync(fleet.Scope, "vflinux", fleet.Inventory.Hosts, force: true, None));
        Assert.Contains(fleet["h1"].Scripts, s => s.Contains("\npath=/var/lib/libvirt/virtfleet/images/vflinux\n") && s.Contains("\nrm -rf -- \"$path\"\n") && s.Contains("flock"));
    }

    [Fact]
    public async Task RemoveImageWithAnInvalidNameThrowsBeforeAnyHost()
    {
        using var fleet = new OperationsFakeFleet(1);
        await Assert.ThrowsAsync<VfException>(() => ImageOperations.RemoveAsync(fleet.Scope, "../etc", fleet.Inventory.Hosts, false, None));
        Assert.Empty(fleet["h1"].Scripts);
        Assert.Empty(fleet.Report.Asked);
    }

    [Fact]
    public async Task ImportOfAMissingPathOrAFolderWithoutManifestThrowsAndDeclinedImportsCacheNothing()
    {
        using var fleet = new OperationsFakeFleet(1);
        var dir = Directory.CreateTempSubdirectory("vf-import-").FullName;
        try
        {
            var missing = await Assert.ThrowsAsync<VfException>(() =>
                ImageOperations.ImportAsync(fleet.Scope, new ImportImageRequest { Path = Path.Combine(dir, "nosuch.qcow2"), Name = "x", Hosts = fleet.Inventory.Hosts }, None));
            Assert.Equal("ImagePathNotFound", missing.ErrorId);
            var noManifest = await Assert.ThrowsAsync<VfException>(() =>
                ImageOperations.ImportAsync(fleet.Scope, new ImportImageRequest { Path = dir, Hosts = fleet.Inventory.Hosts }, None));
            Assert.Equal("ImageManifestMissing", noManifest.ErrorId);

            // Declined: the question names the image; nothing is cached or uploaded.
            var disk = Path.Combine(dir, "My disk (1).qcow2");
            File.WriteAllBytes(disk, [0x51, 0x46, 0x49, 0xfb]);
            using var declining = new OperationsFakeFleet(1, shouldProcess: (_, _) => false);
            Assert.Null(await ImageOperations.ImportAsync(declining.Scope, new ImportImageRequest { Path = disk, Name = "mine", Hosts = declining.Inventory.Hosts }, None));
            Assert.Equal(["Import image: mine"], declining.Report.Asked);
            Assert.Empty(declining["h1"].Scripts);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void KeyPairChangesAskFirstAndGetReportsEachExactNameNotFound()
    {
        var report = new RecordingReporter((_, _) => false);
        Assert.Null(KeyPairOperations.Create(report, "admin", force: false));
        Assert.Null(KeyPairOperations.Import(report, "admin", "ssh-ed25519 AAAA", null, force: false));
        Assert.False(KeyPairOperations.Remove(report, "admin"));
        Assert.Equal(["Create key pair: admin", "Import key pair: admin", "Remove key pair: admin"], report.Asked);

        KeyPairOperations.ReportNotFound(report, "KeyPairNotFound", "key pair", ["admin", "ops*", "nosuch"], ["admin", "other"]);
        var e = Assert.Single(report.Failures);
        Assert.Equal("KeyPairNotFound", e.ErrorId);
        Assert.Equal("No key pair 'nosuch'.", e.Message);
        Assert.Equal(FailureKind.ObjectNotFound, e.Kind);
    }

    [Fact]
    public async Task HostChecksProbeEachHostOnceAndAFailedHostIsOneErrorNamingIt()
    {
        using var fleet = new OperationsFakeFleet(2);
        fleet["h2"].Down = true;
        var streamed = new List<string>();
        var facts = await HostChecks.ProbeAsync(fleet.Scope, fleet.Inventory.Hosts, None, f => streamed.Add(f.Name));
        Assert.Equal(["h1"], facts.Select(f => f.Name));
        Assert.Equal(["h1"], streamed);
        Assert.Single(fleet["h1"].Scripts);
        Assert.Equal("h2", Assert.Single(fleet.Report.Failures).Target);
    }
}
