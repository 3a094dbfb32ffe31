using Xunit;

namespace VirtFleet.Tests;

/// <summary>Host paths and the admin machine's paths each come from one class.</summary>
public class PathsTests
{
    [Fact]
    public void HostPathsHangOffTheStoreAndTheRuntimeFolder()
    {
        Assert.Equal("/var/lib/libvirt/virtfleet/images", HostPaths.Images);
        Assert.Equal("/var/lib/libvirt/virtfleet/instances", HostPaths.Instances);
        Assert.Equal("/var/lib/libvirt/virtfleet/network/groups.json", HostPaths.SecurityGroupsDocument);
        Assert.Equal("/var/lib/libvirt/virtfleet/network/dhcp/vflab", HostPaths.DhcpHosts("vflab"));
        Assert.Equal("/run/virtfleet/host.lock", HostPaths.Lock);
        Assert.Equal("/var/lib/libvirt/virtfleet/images/vflinux", HostPaths.Image("vflinux"));
        Assert.Equal("/var/lib/libvirt/virtfleet/instances/web1", HostPaths.Instance("web1"));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a;touch /tmp/x")]
    [InlineData("a/b")]
    public void HostFolderOfAHostileNameIsRefused(string name)
    {
        Assert.Throws<VfException>(() => HostPaths.Image(name));
        Assert.Throws<VfException>(() => HostPaths.Instance(name));
    }

    [Fact]
    public void UserFilesSitInTheConfigFolderOfTheInventory()
    {
        var config = UserPaths.ConfigFolder;
        Assert.Equal(Path.GetDirectoryName(UserPaths.Inventory), config);
        Assert.Equal(Path.Combine(config, "instance-types.yml"), UserPaths.InstanceTypes);
        Assert.Equal(Path.Combine(config, "os-profiles.yml"), UserPaths.OsProfiles);
        Assert.Equal(Path.Combine(UserPaths.Home, ".ssh", "known_hosts"), UserPaths.KnownHosts);
        if (Environment.GetEnvironmentVariable(UserPaths.InventoryVariable) is null && !OperatingSystem.IsWindows())
            Assert.EndsWith(Path.DirectorySeparatorChar + "virtfleet", config);
    }

    [Theory]
    [InlineData("~", "")]
    [InlineData("~/keys/id", "keys/id")]
    [InlineData("~\\keys\\id", "keys\\id")]
    public void TildeIsTheHomeFolder(string path, string rest) =>
        Assert.Equal(Path.Combine(UserPaths.Home, rest), UserPaths.ExpandHome(path));

    [Theory]
    [InlineData("/etc/x")]
    [InlineData("~other/x")]
    [InlineData("relative/~/x")]
    public void OtherPathsAreKept(string path) => Assert.Equal(path, UserPaths.ExpandHome(path));
}
