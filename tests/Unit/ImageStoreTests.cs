using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Inventory;
using VirtFleet.Libvirt;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Where an image's files are on a host: one owner (ImageStore), whatever the user's file was called, and a version per content.</summary>
public class ImageStoreTests
{
    private static ImageManifest Manifest(string name, string disk, params (string File, string Sha)[] files) => new()
    {
        Name = name, Disk = disk, Files = files.ToDictionary(f => f.File, f => f.Sha),
    };

    [Fact]
    public void ImportedDiskOfAnyFileNameIsCachedUnderOneNameWithItsVersion()
    {
        var cache = Directory.CreateTempSubdirectory("vf-cache-").FullName;
        var src = Directory.CreateTempSubdirectory("vf-src-").FullName;
        var old = Environment.GetEnvironmentVariable("VIRTFLEET_IMAGE_CACHE");
        Environment.SetEnvironmentVariable("VIRTFLEET_IMAGE_CACHE", cache);
        try
        {
            // A minimal qcow2 v3 header (no backing file) under the user's own name.
            var header = new byte[104];
            header[0] = 0x51; header[1] = 0x46; header[2] = 0x49; header[3] = 0xfb; header[7] = 3;
            header[24 + 5] = 1; // 64 KiB virtual size
            File.WriteAllBytes(Path.Combine(src, "My Server 2008.qcow2"), header);
            var m = ImageStore.AddToLocalCache(src, new ImageManifest { Name = "win2008", OsFamily = "windows", Disk = "My Server 2008.qcow2" });
            Assert.Equal(ImageManifest.DiskFileName, m.Disk);
            Assert.Equal([ImageManifest.DiskFileName], m.Files.Keys);
            Assert.True(File.Exists(Path.Combine(cache, "win2008", ImageManifest.DiskFileName)));
            Assert.Equal(m.ContentVersion(), m.Version);
            Assert.Equal($"/var/lib/libvirt/virtfleet/images/win2008/{m.Version}/disk.qcow2", ImageStore.HostDiskPath(m));
        }
        finally
        {
            Environment.SetEnvironmentVariable("VIRTFLEET_IMAGE_CACHE", old);
            Directory.Delete(cache, true);
            Directory.Delete(src, true);
        }
    }

    [Fact]
    public void CreateScriptBacksOntoTheManifestsDiskPath()
    {
        // An image installed before versions, from a file the user named: its own disk name in its own folder.
        var legacy = Manifest("win2008", "win2008.qcow2", ("win2008.qcow2", "aa"));
        Assert.Equal("/var/lib/libvirt/virtfleet/images/win2008/win2008.qcow2", ImageStore.HostDiskPath(legacy));
        var planned = new InstanceCreator.Planned("w1", "i-1", Guid.NewGuid(), new Domain { Name = "w1" }, []);
        var script = InstanceCreator.BuildScript([planned], legacy, 1 << 30).Render("n");
        Assert.Contains("vf_create w1 ", script);
        Assert.Contains(" /var/lib/libvirt/virtfleet/images/win2008/win2008.qcow2 ", script);
        Assert.DoesNotContain("/disk.qcow2", script);
    }

    [Fact]
    public void NewContentIsANewVersionAndTheSameContentKeepsTheHostsCopy()
    {
        var v1 = Manifest("lin", "disk.qcow2", ("disk.qcow2", "11"), ("vmlinuz", "22"));
        var v2 = Manifest("lin", "disk.qcow2", ("disk.qcow2", "33"), ("vmlinuz", "22"));
        v2.Kernel = "vmlinuz";
        Assert.NotEqual(v1.ContentVersion(), v2.ContentVersion());
        Assert.Equal(v1.ContentVersion(), Manifest("lin", "disk.qcow2", ("vmlinuz", "22"), ("disk.qcow2", "11")).ContentVersion());

        var onHost = Manifest("lin", "disk.qcow2", ("disk.qcow2", "11"), ("vmlinuz", "22")); // before versions: no Version
        Assert.Same(onHost, ImageStore.Installed(v1, onHost));
        Assert.Equal("/var/lib/libvirt/virtfleet/images/lin", ImageStore.HostContentDir(ImageStore.Installed(v1, onHost)));
        // The same files with corrected properties: the host's files (its layout) with the new properties.
        var corrected = v1.Clone();
        corrected.MinMemoryMiB = 512;
        var kept = ImageStore.Installed(corrected, onHost);
        Assert.Equal((null as string, 512), (kept.Version, kept.MinMemoryMiB));
        var next = ImageStore.Installed(v2, onHost);
        Assert.Equal(v2.ContentVersion(), next.Version);
        Assert.Null(v2.Version); // the caller's manifest is not changed
        Assert.Equal($"/var/lib/libvirt/virtfleet/images/lin/{next.Version}/vmlinuz", next.ToProperties(ImageStore.HostContentDir(next)).Kernel);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("v-../../etc")]
    [InlineData("v-ABC")]
    public void HostileVersionsAndFileNamesAreRefused(string version)
    {
        var m = Manifest("lin", "disk.qcow2", ("disk.qcow2", "11"));
        m.Version = version;
        Assert.Throws<VfException>(() => ImageStore.HostDiskPath(m));
        Assert.Throws<VfException>(() => ImageStore.HostDiskPath(Manifest("lin", "../../etc/shadow")));
    }
}

/// <summary>The network an instance joins without -Network, and the subnet VirtFleet gives the one it makes.</summary>
public class DefaultNetworkTests
{
    [Fact]
    public void WithoutNetworkTheInventorysDefaultElseVirtFleetsOwn()
    {
        var inv = new HostInventory();
        Assert.Equal(DefaultNetwork.Name, DefaultNetwork.For(null, false, inv));
        Assert.Equal("app", DefaultNetwork.For("app", false, inv));
        Assert.Null(DefaultNetwork.For(null, true, inv));
        inv.DefaultNetwork = "vflab";
        Assert.Equal("vflab", DefaultNetwork.For(null, false, inv));
    }

    [Fact]
    public void DefaultSubnetAvoidsNetworksAndHostAddresses()
    {
        var taken = new VfNetwork("app", NetworkMode.Nat, System.Net.IPNetwork.Parse("10.254.0.0/24"), ["h1"], false, 1000);
        Assert.Equal(System.Net.IPNetwork.Parse("10.254.3.0/24"),
            DefaultNetwork.PickSubnet(DefaultNetwork.Candidates(), [taken], ["10.254.1.7/24", "10.254.2.1/25", "198.51.100.11/24", "fe80::1/64"]));
        // An address whose network covers every candidate: none is free, and the error says how to choose.
        Assert.Equal("NoFreeSubnet", Assert.Throws<VfException>(() => DefaultNetwork.PickSubnet(DefaultNetwork.Candidates(), [taken], ["10.254.1.7/16"])).ErrorId);
        Assert.Equal(System.Net.IPNetwork.Parse("203.0.113.176/28"),
            DefaultNetwork.PickSubnet([System.Net.IPNetwork.Parse("203.0.113.176/28")], [taken], ["203.0.113.1/28"]));
    }

    [Fact]
    public void ReservedAddressesShowUntilALeaseComes()
    {
        var m = new VirtFleet.HostScripts.HostMarkers("0123456789abcdef");
        // A guest's hostname in a lease file (the guest chooses it) posing as the reservations' marker changes nothing.
        var text = """[{"ip-address":"203.0.113.181","mac-address":"52:54:00:aa:bb:cc","expiry-time":1,"hostname":"@@VF-RESERVED@@"}]""" + "\n" +
                   m["RESERVED"] + "\n52:54:00:aa:bb:cc,203.0.113.190\n52:54:00:11:22:33,203.0.113.182\nnonsense\n";
        var byMac = DhcpLeases.Parse(text, m);
        Assert.Equal("203.0.113.181", byMac["52:54:00:aa:bb:cc"]);
        Assert.Equal("203.0.113.182", byMac["52:54:00:11:22:33"]);
        Assert.Equal(2, byMac.Count);
    }
}
