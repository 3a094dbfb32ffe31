using VirtFleet.Libvirt;
using Xunit;

namespace VirtFleet.Tests;

public class LibvirtNamesTests
{
    [Theory]
    [InlineData("web-1")]
    [InlineData("a")]
    [InlineData("_svc.internal")]
    [InlineData("Z9")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc")] // 63
    public void AllowedInstanceNames(string name) => Assert.Equal(name, Names.ValidateInstanceName(name));

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("-rf")]
    [InlineData(".hidden")]
    [InlineData("a b")]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("`id`")]
    [InlineData("web\n")]
    [InlineData("x<y")]
    [InlineData("it's")]
    [InlineData("a/b")]
    [InlineData("naïve")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd")] // 64
    public void RefusedInstanceNames(string? name)
    {
        var e = Assert.Throws<VfException>(() => Names.ValidateInstanceName(name));
        Assert.Equal(("InvalidInstanceName", FailureKind.InvalidArgument, name), (e.ErrorId, e.Kind, e.Target));
    }

    [Theory]
    [InlineData("/var/lib/libvirt/virtfleet/instances/web-1/root.qcow2", true)]
    [InlineData("/srv/a_b/c+d@e=f,g:h.img", true)]
    [InlineData("/var/lib/..hidden/x", true)]
    [InlineData("/var/lib/../x", false)]
    [InlineData("/..", false)]
    [InlineData("var/lib/x", false)]
    [InlineData("/var/lib/x y", false)]
    [InlineData("/var/lib/x'y", false)]
    [InlineData("/var/lib/x\n", false)]
    public void HostPaths(string path, bool allowed)
    {
        if (allowed) Assert.Equal(path, Names.ValidateHostPath(path));
        else Assert.Equal("InvalidHostPath", Assert.Throws<VfException>(() => Names.ValidateHostPath(path)).ErrorId);
    }
}
