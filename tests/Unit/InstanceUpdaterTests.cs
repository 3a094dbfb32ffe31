using System.Diagnostics;
using System.Xml.Linq;
using VirtFleet.Instances;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>In-place changes of an existing instance (the playbook's tags, groups, type and owner record).</summary>
public class InstanceUpdaterTests
{
    private static Instance Web() => new()
    {
        Name = "web-1", Host = "vfh1", InstanceId = "i-0a1b2c3d", IsVirtFleet = true, Image = "vflinux", InstanceType = "t1.micro",
        OsFamily = "linux", KeyPair = "k", Tags = ["web"], SecurityGroups = ["ssh"], Networks = ["vflab"],
        OwnedDisks = ["/var/lib/libvirt/virtfleet/instances/web-1/root.qcow2"], Created = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
    };

    [Fact]
    public void MetadataKeepsWhatWasReadAndAddsOnly()
    {
        var md = InstanceUpdater.Metadata(new InstanceUpdater.Change(Web(), ["web", "tier=a"], ["web"], InstanceType.Find("m1.small"),
            new InstanceOwner("web-tier", "web-tier")));
        var back = VfMetadata.FromXml(XElement.Parse(md.ToXml().ToString()));
        Assert.Equal(("i-0a1b2c3d", "vflinux", "m1.small", "k"), (back.InstanceId, back.Image, back.InstanceType, back.KeyPair));
        Assert.Equal(["web", "tier=a"], back.Tags);
        Assert.Equal(["ssh", "web"], back.SecurityGroups);
        Assert.Equal(["/var/lib/libvirt/virtfleet/instances/web-1/root.qcow2"], back.Disks);
        Assert.Equal(new InstanceOwner("web-tier", "web-tier"), back.Owner);
        Assert.Equal(Web().Created, back.Created);
        // An owner is never taken away by a change that does not name one.
        var kept = new Instance { Name = "a", InstanceId = "i-1", IsVirtFleet = true, Owner = new InstanceOwner("p", "p") };
        Assert.Equal(new InstanceOwner("p", "p"), InstanceUpdater.Metadata(new InstanceUpdater.Change(kept, ["x"])).Owner);
        Assert.Throws<VfException>(() => InstanceUpdater.Metadata(new InstanceUpdater.Change(new Instance { Name = "foreign" })));
    }

    [Fact]
    public void EveryMetadataFieldIsCarriedThroughAnUpdate()
    {
        // A field added to VfMetadata must be carried by InstanceUpdater.Metadata (an update rewrites the whole element).
        Assert.Equal(["Created", "Disks", "Image", "InstanceId", "InstanceType", "KeyPair", "Networks", "OsFamily", "OsVariant", "Owner",
                      "SecurityGroups", "SpreadGroup", "Tags"],
            typeof(VfMetadata).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Order());
        var i = new Instance { Name = "a", InstanceId = "i-1", IsVirtFleet = true, SpreadGroup = "db", OsVariant = "win2k8", Owner = new InstanceOwner("p", "q") };
        var md = InstanceUpdater.Metadata(new InstanceUpdater.Change(i, ["t"]));
        Assert.Equal(("db", "win2k8", new InstanceOwner("p", "q")), (md.SpreadGroup, md.OsVariant, md.Owner));
    }

    [Fact]
    public void OwnerIsReadFromTheDomainMetadataAndHostileTextStaysText()
    {
        var md = new VfMetadata { InstanceId = "i-1", Owner = new InstanceOwner("a\"><x/>", "b&c") };
        var xml = md.ToXml().ToString();
        Assert.DoesNotContain("<x/>", xml);
        Assert.Equal(new InstanceOwner("a\"><x/>", "b&c"), VfMetadata.FromXml(XElement.Parse(xml)).Owner);
        Assert.Null(VfMetadata.FromXml(XElement.Parse(new VfMetadata { InstanceId = "i-1" }.ToXml().ToString())).Owner);
    }

    [Fact]
    public void ScriptIsValidShellAndPassesTheMetadataAsOneQuotedArgument()
    {
        var script = InstanceUpdater.BuildScript([
            new InstanceUpdater.Change(Web(), ["it's $(id)"], Type: InstanceType.Find("m1.small"), StopIfRunning: true),
            new InstanceUpdater.Change(new Instance { Name = "b", InstanceId = "i-2", IsVirtFleet = true }, Owner: new InstanceOwner("p", "p")),
        ], 30);
        Assert.Contains("vf_update web-1 i-0a1b2c3d '<instance><id>i-0a1b2c3d</id>", script);
        Assert.DoesNotContain("xmlns:vf", script);
        Assert.Contains("it'\\''s $(id)", script);
        var small = InstanceType.Find("m1.small");
        Assert.Contains($"</instance>' {small.Vcpus} {small.MemoryMiB * 1024L} 1 30\n", script);
        Assert.Contains("</instance>' '' '' 0 30\n", script);
        var path = Path.GetTempFileName();
        File.WriteAllText(path, script);
        using var sh = Process.Start(new ProcessStartInfo("sh", ["-n", path]) { RedirectStandardError = true })!;
        var err = sh.StandardError.ReadToEnd();
        sh.WaitForExit();
        File.Delete(path);
        Assert.True(sh.ExitCode == 0, err);
        Assert.Throws<VfException>(() => InstanceUpdater.BuildScript([new InstanceUpdater.Change(new Instance { Name = "-x", InstanceId = "i-3", IsVirtFleet = true })], 30));
    }
}

/// <summary>The update script itself, run under the real host lock against a stand-in virsh that keeps its domains in files.</summary>
public sealed class InstanceUpdaterScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vfupdtest-").FullName;

    private const string Virsh = """
        #!/bin/sh
        # stand-in virsh: domains are folders under $VFT/d/NAME (state, meta, vcpus, maxvcpus, mem, maxmem); calls are logged.
        while [ "$1" = -q ] || [ "$1" = -c ]; do [ "$1" = -c ] && shift; shift; done
        echo "$*" >> "$VFT/calls"
        cmd=$1; shift
        dom=$1; [ "$dom" = --domain ] && dom=$2
        d="$VFT/d/$dom"
        case "$cmd" in
          domuuid) [ -d "$d" ] && echo 00000000-0000-0000-0000-000000000001 ;;
          domstate) cat "$d/state" ;;
          shutdown|destroy) echo "shut off" > "$d/state" ;;
          metadata) case " $* " in
                      *" --set "*) while [ "$1" != --set ]; do shift; done
                                   case "$2" in *xmlns*) echo "error: internal error: failed to create a new XML namespace" >&2; exit 1 ;; esac
                                   printf '%s' "$2" | sed -e 's|</|</vf:|g' -e 's|<\([a-z]\)|<vf:\1|g' -e 's|^<vf:instance|<vf:instance xmlns:vf="https://virtfleet.dev/xmlns/instance/1"|' > "$d/meta" ;;
                      *) cat "$d/meta" ;;
                    esac ;;
          vcpucount) cat "$d/maxvcpus" ;;
          setvcpus) case " $* " in *" --maximum "*) [ "$2" -ge "$(cat "$d/vcpus")" ] || exit 1; echo "$2" > "$d/maxvcpus" ;;
                                         *) [ "$2" -le "$(cat "$d/maxvcpus")" ] || exit 1; echo "$2" > "$d/vcpus" ;; esac ;;
          dominfo) echo "Max memory:     $(cat "$d/maxmem") KiB" ;;
          setmaxmem) [ "$2" -ge "$(cat "$d/mem")" ] || exit 1; echo "$2" > "$d/maxmem" ;;
          setmem) [ "$2" -le "$(cat "$d/maxmem")" ] || exit 1; echo "$2" > "$d/mem" ;;
          *) exit 1 ;;
        esac
        """;

    public InstanceUpdaterScriptTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "bin"));
        File.WriteAllText(Path.Combine(_dir, "bin", "virsh"), Virsh);
        File.SetUnixFileMode(Path.Combine(_dir, "bin", "virsh"), (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(Path.Combine(_dir, "lock"));
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private void Domain(string name, string state, string? id, int vcpus, long memKiB)
    {
        var d = Path.Combine(_dir, "d", name);
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "state"), state + "\n");
        File.WriteAllText(Path.Combine(d, "meta"), id is null ? "" : new VfMetadata { InstanceId = id, Tags = ["old"] }.ToXml().ToString());
        foreach (var (f, v) in new[] { ("vcpus", vcpus), ("maxvcpus", vcpus), ("mem", memKiB), ("maxmem", memKiB) }) File.WriteAllText(Path.Combine(d, f), v + "\n");
    }

    private string Read(string name, string file) => File.ReadAllText(Path.Combine(_dir, "d", name, file)).Trim();

    private sealed class LocalHost(string dir) : Transport.IRemoteHost
    {
        public HostEntry Host { get; } = new() { Name = "fake", Address = "127.0.0.1" };
        public async Task<Transport.CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
        {
            var file = Path.Combine(dir, "script.sh");
            File.WriteAllText(file, script);
            var psi = new ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "sh", "-c",
                "mkdir -p /run/virtfleet && mount --bind \"$1\" /run/virtfleet || exit 90; PATH=\"$2/bin:$PATH\" VFT=\"$2\" sh \"$3\"", "sh", dir + "/lock", dir, file])
                { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync(ct);
            var e = p.StandardError.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct);
            return new Transport.CommandResult(p.ExitCode, await o, await e);
        }
        public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) => throw new NotSupportedException();
    }

    private static Instance Was(string name, string id, string type = "t1.micro") =>
        new() { Name = name, InstanceId = id, IsVirtFleet = true, Host = "fake", InstanceType = type, Tags = ["old"] };

    [RootFact]
    public async Task TagsOwnerAndTypeChangeAndADomainThatIsNoLongerTheInstanceReadIsLeftAlone()
    {
        var small = InstanceType.Find("m1.small");
        Domain("off", "shut off", "i-1", 1, 256 * 1024);
        Domain("on", "running", "i-2", 1, 256 * 1024);
        Domain("held", "running", "i-3", 1, 256 * 1024);
        Domain("swapped", "running", "i-other", 1, 256 * 1024);
        var outcomes = await InstanceUpdater.RunAsync(new LocalHost(_dir), [
            new InstanceUpdater.Change(Was("off", "i-1"), ["web"], Type: small, Owner: new InstanceOwner("pb", "pb")),
            new InstanceUpdater.Change(Was("on", "i-2"), Type: small, StopIfRunning: true),
            new InstanceUpdater.Change(Was("held", "i-3"), Type: small),
            new InstanceUpdater.Change(Was("swapped", "i-4"), ["x"]),
        ], 1, default);
        Assert.Equal([null, null], outcomes.Take(2).Select(o => o.Error));
        Assert.Equal([false, true], outcomes.Take(2).Select(o => o.Stopped));
        Assert.Equal((small.Vcpus.ToString(), small.Vcpus.ToString(), (small.MemoryMiB * 1024L).ToString(), (small.MemoryMiB * 1024L).ToString()),
            (Read("off", "vcpus"), Read("off", "maxvcpus"), Read("off", "mem"), Read("off", "maxmem")));
        var md = VfMetadata.FromXml(XElement.Parse(Read("off", "meta")));
        Assert.Equal(("m1.small", new InstanceOwner("pb", "pb")), (md.InstanceType, md.Owner));
        Assert.Equal(["old", "web"], md.Tags);
        // The running one was stopped for it (the caller starts it again); one the caller may not stop is refused.
        Assert.Equal("shut off", Read("on", "state"));
        Assert.Equal((small.MemoryMiB * 1024L).ToString(), Read("on", "maxmem"));
        Assert.Contains("only while it is stopped", outcomes[2].Error!.Message);
        Assert.Equal("running", Read("held", "state"));
        Assert.Equal("InstanceChanged", outcomes[3].Error!.ErrorId);
        Assert.Contains("i-other", outcomes[3].Error!.Message);
        Assert.Equal(["old"], VfMetadata.FromXml(XElement.Parse(Read("swapped", "meta"))).Tags);
        // The metadata of a running domain is set live and persistent; of a stopped one, persistent only.
        var calls = File.ReadAllLines(Path.Combine(_dir, "calls"));
        Assert.Contains(calls, c => c.StartsWith("metadata --domain off") && c.EndsWith(" --config"));
        Assert.DoesNotContain(calls, c => c.StartsWith("metadata --domain off") && c.Contains("--live"));
    }
}
