using VirtFleet.LibvirtNative;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The LibvirtNative layer without a libvirtd: error mapping, availability, URIs, argument checks.</summary>
public class NativeLibvirtTests
{
    [Theory]
    [InlineData(42, "LibvirtDomainNotFound", FailureKind.ObjectNotFound)]
    [InlineData(43, "LibvirtNetworkNotFound", FailureKind.ObjectNotFound)]
    [InlineData(55, "LibvirtOperationInvalid", FailureKind.InvalidOperation)]
    [InlineData(8, "LibvirtInvalidArgument", FailureKind.InvalidArgument)]
    [InlineData(45, "LibvirtAuthFailed", FailureKind.SecurityError)]
    [InlineData(1, "LibvirtCallFailed", FailureKind.InvalidOperation)]
    [InlineData(38, "LibvirtCallFailed", FailureKind.InvalidOperation)]
    public void CallErrorsMapToSpecificIds(int code, string id, FailureKind kind)
    {
        var e = LibvirtErrors.Map(code, 10, "  Domain not found: no domain with matching name 'x'\n", "start domain", "x");
        Assert.Equal(id, e.ErrorId);
        Assert.Equal(kind, e.Kind);
        Assert.Equal("x", e.Target);
        Assert.Equal("start domain (x): Domain not found: no domain with matching name 'x'", e.Message);
    }

    [Theory]
    [InlineData(38, "LibvirtConnectFailed", FailureKind.ConnectionError)]
    [InlineData(1, "LibvirtConnectFailed", FailureKind.ConnectionError)]
    [InlineData(45, "LibvirtAuthFailed", FailureKind.SecurityError)]
    public void ConnectErrorsMapToConnectionIds(int code, string id, FailureKind kind)
    {
        var e = LibvirtErrors.Map(code, 7, "Failed to connect socket", "connect to libvirt", "qemu:///system", connecting: true);
        Assert.Equal(id, e.ErrorId);
        Assert.Equal(kind, e.Kind);
        Assert.Contains("Failed to connect socket", e.Message);
    }

    [Fact]
    public void AMissingMessageStillSaysWhat()
    {
        var e = LibvirtErrors.Map(9, 0, null, "virDomainGetInfo", "vm1");
        Assert.Equal("virDomainGetInfo (vm1): libvirt error 9 (domain 0), no message", e.Message);
    }

    [Theory]
    [InlineData("libvirt-vf-bogus.so.0")]
    [InlineData("/nonexistent/libvirt.so.0")]
    [InlineData("")]
    [InlineData("libc.so.6")] // loads, but is not libvirt
    public void AMissingOrWrongLibraryIsNotAvailable(string library) => Assert.False(NativeLibvirt.IsLoadable(library));

    [Theory]
    [InlineData(9000000UL, "9.0.0")]
    [InlineData(10010003UL, "10.10.3")]
    [InlineData(8002001UL, "8.2.1")]
    public void VersionsDecode(ulong encoded, string expected) => Assert.Equal(Version.Parse(expected), NativeLibvirt.DecodeVersion(encoded));

    [Theory]
    [InlineData("/run/libvirt/libvirt-sock", "qemu+unix:///system?socket=/run/libvirt/libvirt-sock")]
    [InlineData("/var/lib/virtfleet-lab/hosts/vfh1/fs/run/libvirt/libvirt-sock", "qemu+unix:///system?socket=/var/lib/virtfleet-lab/hosts/vfh1/fs/run/libvirt/libvirt-sock")]
    [InlineData("/tmp/a b&mode=legacy", "qemu+unix:///system?socket=/tmp/a%20b%26mode%3Dlegacy")]
    [InlineData("/tmp/é", "qemu+unix:///system?socket=/tmp/%C3%A9")]
    public void SocketUrisEscapeThePath(string path, string uri) => Assert.Equal(uri, LibvirtUri.ForSocket(path));

    [Theory]
    [InlineData("")]
    [InlineData("run/libvirt/libvirt-sock")]
    [InlineData("/tmp/x\n")]
    public void BadSocketPathsAreRefused(string path) => Assert.ThrowsAny<ArgumentException>(() => LibvirtUri.ForSocket(path));

    [Fact]
    public void UnknownDriverIsRefused() => Assert.Throws<ArgumentException>(() => LibvirtUri.ForSocket("/run/x", "xen;rm"));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("qemu:///system\n")]
    [InlineData("qemu:///system other")]
    [InlineData("system")]
    public void BadUrisAreRefusedBeforeLibvirtSeesThem(string uri) =>
        Assert.ThrowsAny<ArgumentException>(() => NativeLibvirtConnection.Open(uri));

    [Theory]
    [InlineData(0, InstanceState.Unknown, "no state")]
    [InlineData(1, InstanceState.Running, "running")]
    [InlineData(2, InstanceState.Blocked, "idle")]
    [InlineData(3, InstanceState.Paused, "paused")]
    [InlineData(4, InstanceState.ShuttingDown, "in shutdown")]
    [InlineData(5, InstanceState.Stopped, "shut off")]
    [InlineData(6, InstanceState.Crashed, "crashed")]
    [InlineData(7, InstanceState.Suspended, "pmsuspended")]
    [InlineData(99, InstanceState.Unknown, "unknown")]
    public void StatesMap(int state, InstanceState expected, string word)
    {
        Assert.Equal(expected, NativeDomainStates.ToInstanceState(state));
        Assert.Equal(word, NativeDomainStates.ToVirshWord(state));
    }

    [Fact]
    public void UuidStringsParse()
    {
        var buf = new byte[37];
        System.Text.Encoding.ASCII.GetBytes("6695eb01-f6a4-8304-79aa-97f2502e193f").CopyTo(buf, 0);
        Assert.Equal(Guid.Parse("6695eb01-f6a4-8304-79aa-97f2502e193f"), NativeLibvirtConnection.ParseUuid(buf));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("vm\0x")]
    public void BadDomainNamesAreRefused(string name) => Assert.ThrowsAny<ArgumentException>(() => NativeLibvirtConnection.ValidateName(name));
}
