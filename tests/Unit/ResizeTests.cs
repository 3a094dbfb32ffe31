using VirtFleet.Instances;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The disk grow of Resize-VfInstance (instance-actions.sh vf_grow) against a fake host: grows, never shrinks, live when running.</summary>
public class ResizeTests
{
    const string Meta = "<vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'>\n  <vf:id>i-7</vf:id>\n</vf:instance>\n";

    private static FakeHost Host(string state)
    {
        var host = new FakeHost();
        host.AddDomain("web1", Guid.NewGuid(), state, "<domain type='qemu'><name>web1</name></domain>", Meta);
        Directory.CreateDirectory(Path.Combine(host.Store, "instances", "web1"));
        File.WriteAllText(Path.Combine(host.Store, "instances", "web1", "root.qcow2"), "x");
        // qemu-img's virtual size is 2 GiB; resize and blockresize are recorded (every stand-in call is).
        host.Stub("qemu-img", "case \"$1\" in info) printf '{\\n    \"virtual-size\": 2147483648,\\n    \"format\": \"qcow2\"\\n}\\n' ;; resize) ;; *) exit 1 ;; esac");
        host.Stub("virsh", "case \" $* \" in *\" blockresize \"*) exit 0 ;; esac; exec sh \"$FAKE/stubs/virsh\" \"$@\"");
        return host;
    }

    private static async Task<InstanceActions.Outcome> Grow(FakeHost host, long bytes, string id = "i-7") =>
        Assert.Single(await InstanceActions.GrowDisksStep([(new InstanceActions.Target("web1", id), bytes)]).RunAsync(host, default));

    [Fact]
    public async Task AStoppedInstancesOverlayGrowsWithQemuImg()
    {
        using var host = Host("shut off");
        Assert.Null((await Grow(host, 4L << 30)).Error);
        Assert.Contains(host.Calls, c => c.StartsWith("qemu-img resize -q -f qcow2 --") && c.EndsWith("/instances/web1/root.qcow2 4294967296"));
        Assert.DoesNotContain(host.Calls, c => c.Contains("blockresize"));
    }

    [Fact]
    public async Task ARunningInstanceGrowsLiveThroughLibvirt()
    {
        using var host = Host("running");
        Assert.Null((await Grow(host, 4L << 30)).Error);
        Assert.Contains(host.Calls, c => c.Contains("blockresize web1") && c.EndsWith("4294967296B"));
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("qemu-img resize"));
    }

    [Fact]
    public async Task ADiskNeverShrinksAndAnotherInstanceOfTheNameIsLeftAlone()
    {
        using var host = Host("shut off");
        var shrink = await Grow(host, 1L << 30);
        Assert.Equal("ResizeInstanceFailed", shrink.Error!.ErrorId);
        Assert.Contains("never shrinks", shrink.Error.Message);
        Assert.Null((await Grow(host, 2L << 30)).Error); // the same size: nothing to do
        Assert.Equal("InstanceChanged", (await Grow(host, 4L << 30, id: "i-other")).Error!.ErrorId);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("qemu-img resize"));
    }
}
