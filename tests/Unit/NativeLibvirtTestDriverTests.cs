using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// The real P/Invoke path against libvirt's built-in test driver (test:///default: an in-process hypervisor with one
/// running domain "test" and one network "default", shared by the connections open at once and fresh again when the
/// last one closes), so no libvirtd is needed. Tests that change the domain put it back. Where libvirt.so.0
/// is absent these return at once (the availability tests above cover that path).
/// </summary>
[Collection(LibvirtTestDriver.Name)]
public class NativeLibvirtTestDriverTests
{
    private const string TestUri = "test:///default";

    [Fact]
    public void ListsTheTestDomainWithItsStateMemoryAndXml()
    {
        if (!NativeLibvirt.IsAvailable) return;
        Assert.NotNull(NativeLibvirt.LibraryVersion);
        using var c = NativeLibvirtConnection.Open(TestUri);
        Assert.False(string.IsNullOrEmpty(c.Hostname));
        Assert.True(c.LibVersion.Major >= 1);
        var d = Assert.Single(c.ListDomains(includeXml: true));
        Assert.Equal("test", d.Name);
        Assert.Equal(InstanceState.Running, d.State);
        Assert.Equal("running", d.LibvirtState);
        Assert.True(d.MemoryKiB > 0 && d.MaxMemoryKiB >= d.MemoryKiB);
        Assert.True(d.Vcpus >= 1);
        Assert.Contains($"<uuid>{d.Uuid}</uuid>", d.Xml);
        Assert.Null(c.ListDomains().Single().Xml);
        Assert.Equal(d.Uuid, c.GetDomain("test").Uuid);
    }

    [Fact]
    public void LifecycleActionsChangeTheState()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open(TestUri);
        c.Suspend("test");
        Assert.Equal(InstanceState.Paused, c.GetDomain("test", includeXml: false).State);
        c.Resume("test");
        Assert.Equal(InstanceState.Running, c.GetDomain("test", includeXml: false).State);
        c.Destroy("test");
        Assert.Equal("shut off", c.GetDomain("test", includeXml: false).LibvirtState);
        c.Start("test");
        Assert.Equal(InstanceState.Running, c.GetDomain("test", includeXml: false).State);
        c.Shutdown("test");
        Assert.Equal(InstanceState.Stopped, c.GetDomain("test", includeXml: false).State); // the test driver stops at once
        c.Start("test");
        Assert.Equal(InstanceState.Running, c.GetDomain("test", includeXml: false).State);
    }

    [Fact]
    public void LibvirtErrorsComeBackAsVfExceptions()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open(TestUri);
        var missing = Assert.Throws<VfException>(() => c.Start("no-such-domain"));
        Assert.Equal("LibvirtDomainNotFound", missing.ErrorId);
        Assert.Contains("no-such-domain", missing.Message);
        var running = Assert.Throws<VfException>(() => c.Start("test"));
        // The test driver calls this an internal error (qemu says operation invalid: the lab test sees that id).
        Assert.Equal("LibvirtCallFailed", running.ErrorId);
        Assert.Contains("already running", running.Message);
        // The error was consumed: the next call on the thread succeeds and reports nothing stale.
        Assert.Equal("test", c.GetDomain("test", includeXml: false).Name);
    }

    [Fact]
    public void ListsNetworks()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open(TestUri);
        var n = Assert.Single(c.ListNetworks());
        Assert.Equal("default", n.Name);
        Assert.True(n.Active);
        Assert.NotEqual(Guid.Empty, n.Uuid);
    }

    [Fact]
    public void ABogusSocketIsACleanConnectFailure()
    {
        if (!NativeLibvirt.IsAvailable) return;
        var e = Assert.Throws<VfException>(() => NativeLibvirtConnection.OpenSocket("/nonexistent/vf-test/libvirt-sock"));
        Assert.Equal("LibvirtConnectFailed", e.ErrorId);
        Assert.Equal(FailureKind.ConnectionError, e.Kind);
        Assert.Contains("/nonexistent/vf-test/libvirt-sock", e.Message);
    }

    [Fact]
    public void AClosedConnectionRefusesUse()
    {
        if (!NativeLibvirt.IsAvailable) return;
        var c = NativeLibvirtConnection.Open(TestUri);
        c.Dispose();
        c.Dispose();
        Assert.Throws<ObjectDisposedException>(() => c.ListDomains());
    }

    [Fact]
    public void ManyDomainsListAndFreeCleanly()
    {
        if (!NativeLibvirt.IsAvailable) return;
        using var c = NativeLibvirtConnection.Open(TestUri);
        for (var i = 0; i < 200; i++) Assert.Single(c.ListDomains(includeXml: i % 10 == 0));
        Assert.Single(c.ListNetworks());
    }
}
