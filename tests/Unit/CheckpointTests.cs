using VirtFleet.Checkpoints;
using VirtFleet.Instances;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>checkpoint.sh against the fake host (its virsh keeps snapshots of a domain's state and a stand-in disk file).</summary>
public class CheckpointTests
{
    const string Meta = "<vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'>\n  <vf:id>i-7</vf:id>\n  <vf:disks>\n" +
                        "    <vf:disk>STORE/instances/web1/root.qcow2</vf:disk>\n  </vf:disks>\n</vf:instance>\n";

    private static FakeHost Host(string? meta = Meta, string state = "running")
    {
        var host = new FakeHost();
        host.AddDomain("web1", Guid.NewGuid(), state, "<domain type='qemu'><name>web1</name><memory>65536</memory><vcpu>1</vcpu></domain>",
            meta?.Replace("STORE", host.Store));
        Directory.CreateDirectory(Path.Combine(host.Store, "instances", "web1"));
        File.WriteAllText(Path.Combine(host.Store, "instances", "web1", "root.qcow2"), "x");
        return host;
    }

    private static string DomainDir(FakeHost h) => Path.Combine(Path.GetDirectoryName(h.Store)!, "domains", "web1");
    private static void Disk(FakeHost h, string text) => File.WriteAllText(Path.Combine(DomainDir(h), "disk"), text);
    private static string Disk(FakeHost h) => File.ReadAllText(Path.Combine(DomainDir(h), "disk"));

    private static CheckpointOutcome Change(FakeHost h, CheckpointAction a, string cp, string id = "i-7", string description = "") =>
        Assert.Single(CheckpointScripts.ChangeStep(a, [("web1", id, cp, description)]).RunAsync(h, default).GetAwaiter().GetResult());

    private static IReadOnlyList<Checkpoint> List(FakeHost h) => CheckpointScripts.ListStep().RunAsync(h, default).GetAwaiter().GetResult();

    [Fact]
    public void CreateListRestoreRemove()
    {
        using var h = Host();
        Disk(h, "marker1");
        Assert.Null(Change(h, CheckpointAction.Create, "first", description: "one marker $(touch /tmp/vf-canary-cp)").Error);
        Disk(h, "marker1 marker2");
        var cp = Assert.Single(List(h));
        Assert.Equal(("web1", "i-7", "fake", "first", "running"), (cp.Instance, cp.InstanceId, cp.Host, cp.Name, cp.State));
        Assert.Equal("one marker $(touch /tmp/vf-canary-cp)", cp.Description);
        Assert.True(cp.Memory);
        Assert.True(cp.Current);
        Assert.NotNull(cp.Created);
        Assert.False(File.Exists("/tmp/vf-canary-cp"));

        Assert.Null(Change(h, CheckpointAction.Restore, "first").Error);
        Assert.Equal("marker1", Disk(h));
        Assert.Equal("CheckpointExists", Change(h, CheckpointAction.Create, "first").Error?.ErrorId);
        Assert.Null(Change(h, CheckpointAction.Remove, "first").Error);
        Assert.Empty(List(h));
        Assert.Equal("CheckpointNotFound", Change(h, CheckpointAction.Restore, "first").Error?.ErrorId);
        // Every change ran under the host lock.
        Assert.Contains(h.Calls, c => c.StartsWith("flock -x"));
    }

    [Fact]
    public void OnlyTheInstanceThatWasReadIsTouched()
    {
        using (var h = Host())
        {
            Assert.Equal("InstanceChanged", Change(h, CheckpointAction.Create, "first", id: "i-8").Error?.ErrorId);
            Assert.DoesNotContain(h.Calls, c => c.Contains("snapshot-create"));
        }
        using (var h = Host(meta: null))
        {
            Assert.Equal("InstanceChanged", Change(h, CheckpointAction.Create, "first").Error?.ErrorId);
            Assert.DoesNotContain(h.Calls, c => c.Contains("snapshot-create"));
        }
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("-rf")]
    [InlineData(".hidden")]
    [InlineData("two\nlines")]
    [InlineData("")]
    public void HostileCheckpointNamesAreRefusedBeforeAnyScript(string name)
    {
        var e = Assert.Throws<VfException>(() => CheckpointScripts.ChangeStep(CheckpointAction.Create, [("web1", "i-7", name, "")]));
        Assert.Equal("InvalidCheckpointName", e.ErrorId);
        Assert.Equal("InvalidCheckpointDescription",
            Assert.Throws<VfException>(() => CheckpointScripts.ChangeStep(CheckpointAction.Create, [("web1", "i-7", "ok", "a\nb")])).ErrorId);
    }

    [Fact]
    public void RemovingAnInstanceRemovesItsCheckpoints()
    {
        using var h = Host(state: "shut off");
        Assert.Null(Change(h, CheckpointAction.Create, "off").Error);
        var outcome = Assert.Single(InstanceActions.RunAsync(h, InstanceAction.Remove, [new InstanceActions.Target("web1", "i-7")], 60, false, default)
            .GetAwaiter().GetResult());
        Assert.Null(outcome.Error);
        Assert.False(h.HasDomain("web1"));
        Assert.Contains(h.Calls, c => c.Contains(" undefine ") && c.Contains("--snapshots-metadata"));
        Assert.False(File.Exists(Path.Combine(h.Store, "instances", "web1", "root.qcow2")));
    }

    [Fact]
    public void DiskInfoGivesMemorySizesAndTheFileSize()
    {
        var (sizes, file) = CheckpointScripts.DiskInfo("""
            {"snapshots":[{"icount":0,"vm-clock-nsec":1,"name":"first","date-sec":1,"date-nsec":2,"vm-clock-sec":3,"id":"1","vm-state-size":53477376},
                          {"name":"off","id":"2","vm-state-size":0}],"actual-size":9437184,"virtual-size":67108864,"format":"qcow2"}
            """);
        Assert.Equal(53477376, sizes["first"]);
        Assert.Equal(0, sizes["off"]);
        Assert.Equal(9437184, file);
        Assert.Empty(CheckpointScripts.DiskInfo("not json").Sizes);
    }
}
