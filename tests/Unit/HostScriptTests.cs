using System.Diagnostics;
using VirtFleet.HostScripts;
using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The host scripts as files: every one parses (sh -n) and passes shellcheck, alone and as the round trips that send them.</summary>
public class HostScriptCheckTests
{
    /// <summary>
    /// shellcheck's findings the scripts make on purpose:
    /// SC2015 "A &amp;&amp; B || C is not if-then-else": the scripts use it for "do A and B, else report" (C is the failure
    /// path of the whole chain, e.g. <c>mkdir -p d &amp;&amp; chmod d || { report; return; }</c>).
    /// Variables a script gets from HostScript.Set are declared to shellcheck in the script itself (a disable=SC2154
    /// directive on the line that uses one), so an unbound variable anywhere else is still found.
    /// </summary>
    public const string ShellcheckExclusions = "SC2015";

    /// <summary>
    /// And in a whole round trip, where libraries meet the scripts that use them: SC2317 "command appears to be
    /// unreachable" (functions called indirectly, as <c>run NAME V resume</c> does, or a library function this trip does
    /// not need), SC2119/SC2120 (vf_domains takes names, and a trip may call it with none: every domain).
    /// </summary>
    public const string RoundTripExclusions = ShellcheckExclusions + ",SC2317,SC2119,SC2120";

    static string ScriptsDir => Path.Combine(AppContext.BaseDirectory, "HostScriptsChecked");

    static (int Code, string Output) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output.Result + error);
    }

    static string Write(string name, string text)
    {
        Directory.CreateDirectory(ScriptsDir);
        var path = Path.Combine(ScriptsDir, name);
        File.WriteAllText(path, text);
        return path;
    }

    static void Check(string path, string exclusions = ShellcheckExclusions)
    {
        var syntax = Exec("/bin/sh", "-n", path);
        Assert.True(syntax.Code == 0, $"sh -n {path}: {syntax.Output}");
        var lint = Exec("shellcheck", "-s", "sh", "-f", "gcc", "-e", exclusions, path);
        Assert.True(lint.Code == 0, $"shellcheck {Path.GetFileName(path)}:\n{lint.Output}");
    }

    public static TheoryData<string> Scripts => new(HostScript.All);

    [Theory]
    [MemberData(nameof(Scripts))]
    public void EveryEmbeddedScriptParsesAndPassesShellcheck(string name) => Check(Write(name + ".sh", HostScript.Text(name)));

    [Fact]
    public void TheFakeHostsStandInsPassShellcheckToo()
    {
        Check(Path.Combine(AppContext.BaseDirectory, "FakeHost", "virsh"));
        Check(Path.Combine(AppContext.BaseDirectory, "FakeHost", "qemu-img"));
    }

    /// <summary>The round trips as the code builds them: protocol prelude, bound values, libraries, script and calls.</summary>
    public static IEnumerable<(string Name, HostBatch Batch)> RoundTrips()
    {
        HostBatch One<T>(HostStep<T> step) { var b = new HostBatch(); b.Add(step); return b; }
        var targets = new List<InstanceActions.Target> { new("web1", "i-1"), new("it's", null) };
        foreach (var a in Enum.GetValues<InstanceAction>())
        {
            var b = new HostBatch();
            b.Add(InstanceActions.Step(a, targets.Take(1).ToList(), 60, false));
            b.Add(HostNetworkState.ReadStep(), onlyAfterSuccess: true);
            yield return ("actions-" + a, b);
        }
        var planned = new InstanceCreator.Planned("w1", "i-1", Guid.NewGuid(),
            new Domain { Name = "w1", Metadata = new VfMetadata { InstanceId = "i-1", SecurityGroups = ["web"] } }, [1, 2, 3]);
        var image = new ImageManifest { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" } };
        yield return ("create", One(InstanceCreator.CreateStep([planned], image, InstanceType.Find(InstanceType.DefaultName))));
        yield return ("survey", One(InstanceCreator.SurveyStep("img")));
        yield return ("list", One(InstanceReader.ListStep()));
        yield return ("leases", One(DhcpLeases.ReadStep()));
        yield return ("probe", One(Hosts.HostProbe.ProbeStep()));
        yield return ("docs", One(NetworkStore.ReadStep()));
        yield return ("fleet-state", One(Playbooks.FleetStateReader.ReadStep()));
        yield return ("grow", One(InstanceActions.GrowDisksStep([(new InstanceActions.Target("web1", "i-1"), 4L << 30)])));
        yield return ("checkpoint-list", One(Checkpoints.CheckpointScripts.ListStep()));
        yield return ("storage-list", One(Storage.StorageScripts.ListStep()));
        yield return ("storage-remove", One(Storage.StorageScripts.RemoveStep([HostPaths.Store + "/instances/a/root.qcow2", HostPaths.Store + "/it's here"])));
        yield return ("image-save", One(ImageSave.StageStep("web1", "i-1", "golden", "vmlinuz", null)));
        foreach (var a in Enum.GetValues<Checkpoints.CheckpointAction>())
            yield return ("checkpoint-" + a, One(Checkpoints.CheckpointScripts.ChangeStep(a, [("web1", "i-1", "cp1", "it's")],
                new Dictionary<string, string[]> { ["web1"] = ["djQ=", "djY="] })));
    }

    [Fact]
    public void EveryRoundTripAsSentParsesAndPassesShellcheck()
    {
        foreach (var (name, batch) in RoundTrips())
            Check(Write("trip-" + name + ".sh", batch.Render("0123456789abcdef")), RoundTripExclusions);
    }

    [Fact]
    public void ValuesAreBoundQuotedAndNeverBecomeScriptText()
    {
        var s = HostScript.Load("instance-wait").Set("wait_seconds", "1; touch /tmp/vf-canary").Call("vf_running", "$(id)", "a'b");
        var text = s.Render("n");
        Assert.Contains("wait_seconds='1; touch /tmp/vf-canary'\n", text);
        Assert.Contains("vf_running '$(id)' 'a'\\''b'\n", text);
        Assert.Throws<ArgumentException>(() => HostScript.Load("instance-wait").Set("VF_URI", "qemu:///session"));
        Assert.Throws<ArgumentException>(() => HostScript.Load("instance-wait").Set("a b", "x"));
        Assert.Throws<ArgumentException>(() => HostScript.Load("instance-wait").Call("vf_running; rm", "x"));
        Assert.Throws<ArgumentException>(() => HostScript.Load("no-such-script"));
    }

    [Fact]
    public void TheLibvirtUriIsNamedOnceAndMarkersCarryTheRunsNonce()
    {
        foreach (var name in HostScript.All)
        {
            var text = HostScript.Text(name);
            Assert.DoesNotContain("qemu:///", text);
            // Every marker a script prints carries the nonce, except the firewall's line prefixes (ip6read.sh says why); lock.sh's
            // two are the places HostLock.Wrap fills (the body, and its delimiter with a random part).
            foreach (var m in System.Text.RegularExpressions.Regex.Matches(text, "@@VF-[A-Z0-9-]+@@").Select(m => m.Value))
                Assert.True(m is "@@VF-IP6@@" or "@@VF-IP6-READ@@" or "@@VF-BRIDGE-NF@@" || (name == "lock" && m is "@@VF-LOCKED-BODY@@" or "@@VF-BODY@@"),
                    $"{name}.sh prints the fixed marker {m}");
        }
        var first = HostMarkers.New();
        Assert.Matches("^[0-9a-f]{16}$", first.Nonce);
        Assert.NotEqual(first, HostMarkers.New());
        Assert.Equal($"@@VF-DOMAIN-{first.Nonce}@@", first["DOMAIN"]);
    }
}

/// <summary>The host scripts run by a real sh against <see cref="FakeHost"/>: the protocol, the lock, the markers, the batch.</summary>
public sealed class HostScriptFakeHostTests : IDisposable
{
    private readonly FakeHost _host = new();

    public void Dispose() => _host.Dispose();

    static readonly Guid U1 = Guid.Parse("7faaeb72-7e34-452d-ad24-05b267612caf"), U2 = Guid.Parse("0b1e2f3a-0000-4000-8000-000000000001");

    private void AddInstance(string name, Guid uuid, string state, string? id, string? description = null)
    {
        var md = id is null ? null : new VfMetadata { InstanceId = id, Disks = [_host.Store + $"/instances/{name}/root.qcow2"] };
        _host.AddDomain(name, uuid, state, new Domain { Name = name, Uuid = uuid, Description = description, Metadata = md }.ToXmlString(),
            md?.ToXml().ToString());
    }

    /// <summary>Lines a domain's owner may put in its description, posing as the protocol's (old fixed ones and guessed nonces).</summary>
    static string Forged(string victim) => string.Join('\n',
        $"x\n@@VF-DOMAIN@@ {U2}\nrunning\n", $"@@VF-RESULT@@ {victim} ok", $"@@VF-RESULT-0000000000000000@@ {victim} ok",
        $"@@VF-DOMAIN-0000000000000000@@ {U2}", "@@VF-SECTION@@ networks", "@@VF-NET@@ evil 1 1 1", "@@VF-STEP-0000000000000000@@ 0 0",
        "@@VF-DOMAIN@@ leases", "@@VF-RESERVED@@", "52:54:00:00:00:99,203.0.113.66", "@@VF-TRAILER@@");

    [Fact]
    public async Task AListingIsReadRightWhateverADomainsDescriptionSays()
    {
        AddInstance("web1", U1, "running", "i-1", Forged("web1"));
        AddInstance("web2", U2, "shut off", "i-2");
        var list = await InstanceReader.ReadAsync(_host, default);
        Assert.Equal([("web1", InstanceState.Running, "i-1"), ("web2", InstanceState.Stopped, "i-2")],
            list.OrderBy(i => i.Name).Select(i => (i.Name, i.State, i.InstanceId!)));
        Assert.Empty(list.SelectMany(i => i.Addresses));
        // A read takes no lock; the nonce is new each run.
        Assert.DoesNotContain(_host.Calls, c => c.StartsWith("flock"));
        await InstanceReader.ReadAsync(_host, default);
        string Nonce(string s) => s.Split('\n')[0];
        Assert.NotEqual(Nonce(_host.Scripts[0]), Nonce(_host.Scripts[1]));
    }

    [Fact]
    public async Task AnActionsResultCannotBeForgedByAnotherDomainsText()
    {
        // web1 is now another instance than the one read (i-old): its result is "changed", whatever web2's description claims.
        AddInstance("web1", U1, "shut off", "i-1");
        AddInstance("web2", U2, "shut off", "i-2", Forged("web1"));
        var outcomes = await InstanceActions.RunAsync(_host, InstanceAction.Start, [new("web1", "i-old"), new("web2", "i-2")], 60, false, default);
        Assert.Equal("InstanceChanged", outcomes[0].Error?.ErrorId);
        Assert.Equal("shut off", _host.DomainState("web1"));
        Assert.Null(outcomes[1].Error);
        Assert.Equal(InstanceState.Running, outcomes[1].Instance?.State);
        Assert.Equal("running", _host.DomainState("web2"));
        // A state change takes the host lock, exclusive.
        Assert.Contains(_host.Calls, c => c.StartsWith("flock -x "));
    }

    [Fact]
    public async Task TheNetworkStateIsReadRightWhateverADomainsDescriptionSays()
    {
        foreach (var t in new[] { "ip", "bridge" }) _host.Stub(t, "exit 0");
        AddInstance("web1", U1, "running", "i-1", Forged("web1"));
        AddInstance("web2", U2, "running", "i-2");
        var state = await HostNetworkState.ReadAsync(_host, default);
        Assert.Equal(["web1", "web2"], state.Domains.Select(d => d.Info.Name).Order());
        Assert.Empty(state.Networks);
        Assert.Empty(state.LeasesByMac);
        Assert.Equal("none", state.Docs.Groups.Version);
    }

    [Fact]
    public async Task AHeldLockIsHostLockedAndNothingRuns()
    {
        AddInstance("web1", U1, "shut off", "i-1");
        _host.Stub("flock", "exit 1");
        var e = await Assert.ThrowsAsync<VfException>(() => InstanceActions.RunAsync(_host, InstanceAction.Start, [new("web1", "i-1")], 60, false, default));
        Assert.Equal("HostLocked", e.ErrorId);
        Assert.DoesNotContain(_host.Calls, c => c.StartsWith("virsh"));
        Assert.Equal("shut off", _host.DomainState("web1"));
    }

    [Fact]
    public async Task NotBeingRootIsHostLockUnavailable()
    {
        _host.Stub("id", "echo 1000");
        var e = await Assert.ThrowsAsync<VfException>(() => InstanceActions.RunAsync(_host, InstanceAction.Stop, [new("web1", "i-1")], 60, false, default));
        Assert.Equal("HostLockUnavailable", e.ErrorId);
    }

    [Fact]
    public async Task AScriptPastItsBoundIsHostScriptOverran()
    {
        AddInstance("web1", U1, "running", "i-1");
        _host.Stub("virsh", "case \" $* \" in *' shutdown '*) sleep 30 ;; esac; exec sh \"$FAKE/stubs/virsh\" \"$@\"");
        var script = InstanceActions.BuildScript(InstanceAction.Stop, [new("web1", "i-1")], 60, false).Locked(TimeSpan.FromSeconds(3));
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VfException>(() => script.RunAsync(_host, default));
        Assert.Equal("HostScriptOverran", e.ErrorId);
        Assert.InRange(sw.Elapsed.TotalSeconds, 2, 15);
    }

    [Fact]
    public async Task ABatchGivesEachStepItsOwnOutputErrorAndExitCode()
    {
        AddInstance("web1", U1, "running", "i-1");
        Directory.CreateDirectory(Path.Combine(_host.Store, "network"));
        File.WriteAllText(Path.Combine(_host.Store, "network", "groups.json"), "{}\n");
        var batch = new HostBatch();
        var stop = batch.Add(InstanceActions.Step(InstanceAction.Stop, [new("web1", "i-1")], 60, false));
        var docs = batch.Add(NetworkStore.ReadStep());
        var list = batch.Add(InstanceReader.ListStep());
        await batch.RunAsync(_host, default);
        Assert.Single(_host.Scripts);
        Assert.Equal(HostLockMode.Exclusive, batch.Lock);
        Assert.Equal(InstanceState.Stopped, Assert.Single(stop.Value).Instance?.State);
        Assert.Equal(NetworkStore.VersionOf("{}\n"), docs.Value.Groups.Version);
        Assert.Equal("{}\n", docs.Value.Groups.Text);
        Assert.Equal(InstanceState.Stopped, Assert.Single(list.Value).State);
        Assert.DoesNotContain("@@VF-", docs.Reply.Stdout.Replace(docs.Reply.Markers["DOC"], ""));

        // A step that fails: its own exit code and error text; the next one still answers; one that depends on it is skipped.
        _host.Stub("virsh", "case \" $* \" in *' list '*) echo 'libvirtd is down' >&2; exit 1 ;; esac; exec sh \"$FAKE/stubs/virsh\" \"$@\"");
        batch = new HostBatch();
        list = batch.Add(InstanceReader.ListStep());
        docs = batch.Add(NetworkStore.ReadStep());
        var skipped = batch.Add(NetworkStore.ReadStep(), onlyAfterSuccess: true);
        await batch.RunAsync(_host, default);
        Assert.Equal(HostLockMode.None, batch.Lock);
        Assert.Equal(1, list.Reply.ExitCode);
        Assert.Contains("libvirtd is down", list.Reply.Stderr);
        Assert.Equal("ListDomainsFailed", Assert.Throws<VfException>(() => list.Value).ErrorId);
        Assert.Equal(0, docs.Reply.ExitCode);
        Assert.Equal("", docs.Reply.Stderr.Trim());
        Assert.Equal(HostExit.Skipped, skipped.Reply.ExitCode);
    }

    [Fact]
    public async Task ACreateMakesTheOverlayAndSeedDefinesAndStarts()
    {
        var uuid = Guid.NewGuid();
        var planned = new InstanceCreator.Planned("w1", "i-1", uuid,
            new Domain { Name = "w1", Uuid = uuid, Metadata = new VfMetadata { InstanceId = "i-1" } }, [1, 2, 3]);
        var image = new ImageManifest { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" }, VirtualSize = 1 << 20 };
        var outcomes = await InstanceCreator.CreateOnHostAsync(_host, [planned], image, InstanceType.Find(InstanceType.DefaultName), default);
        var o = Assert.Single(outcomes);
        Assert.Null(o.Error);
        Assert.False(o.Existed);
        Assert.Equal(InstanceState.Running, o.Instance?.State);
        Assert.Equal("i-1", o.Instance?.InstanceId);
        var dir = Path.Combine(_host.Store, "instances", "w1");
        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(dir, "seed.iso")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "seed.iso")));
        Assert.False(File.Exists(Path.Combine(dir, ".creating")));
        Assert.Contains(_host.Calls, c => c == $"qemu-img create -q -f qcow2 -F qcow2 -b {ImageStore.HostDiskPath(image).Replace(HostPaths.Store, _host.Store)} -- {dir}/root.qcow2 {(long)InstanceType.Find(InstanceType.DefaultName).DiskGiB << 30}");
        Assert.Contains(_host.Calls, c => c.StartsWith("flock -x "));

        // Again: it exists, nothing is made twice.
        outcomes = await InstanceCreator.CreateOnHostAsync(_host, [planned], image, InstanceType.Find(InstanceType.DefaultName), default);
        Assert.True(Assert.Single(outcomes).Existed);
        Assert.Single(_host.Calls, c => c.StartsWith("qemu-img create"));
    }

    [Fact]
    public async Task ACreateThatFailsLeavesNothing()
    {
        _host.Stub("qemu-img", "echo 'no space left' >&2; exit 1");
        var uuid = Guid.NewGuid();
        var planned = new InstanceCreator.Planned("w1", "i-1", uuid, new Domain { Name = "w1", Uuid = uuid }, [1]);
        var image = new ImageManifest { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" } };
        var o = Assert.Single(await InstanceCreator.CreateOnHostAsync(_host, [planned], image, InstanceType.Find(InstanceType.DefaultName), default));
        Assert.Equal("CreateInstanceFailed", o.Error?.ErrorId);
        Assert.Contains("no space left", o.Error!.Message);
        Assert.False(Directory.Exists(Path.Combine(_host.Store, "instances", "w1")));
        Assert.False(_host.HasDomain("w1"));
    }

    [Fact]
    public async Task ACreateRunsTheLoopsToolsAndOneVirshToReadBack()
    {
        // What a create costs on the host (issue 18, T2): per instance qemu-img, define and start, as an admin's loop;
        // no listing of the host first, one virsh for the read back of all.
        var image = new ImageManifest { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" }, VirtualSize = 1 << 20 };
        var planned = new[] { "w1", "w2" }.Select(n =>
        {
            var u = Guid.NewGuid();
            return new InstanceCreator.Planned(n, "i-" + n, u, new Domain { Name = n, Uuid = u, Metadata = new VfMetadata { InstanceId = "i-" + n } }, [1]);
        }).ToList();
        var outcomes = await InstanceCreator.CreateOnHostAsync(_host, planned, image, InstanceType.Find(InstanceType.DefaultName), default);
        Assert.Equal(["i-w1", "i-w2"], outcomes.Select(o => o.Instance?.InstanceId));
        Assert.All(outcomes, o => Assert.Equal(InstanceState.Running, o.Instance?.State));
        var virsh = _host.Calls.Where(c => c.StartsWith("virsh")).Select(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]).ToList();
        Assert.Equal(["define", "define", "echo", "start", "start"], virsh.Order());
        Assert.Equal("echo", virsh[^1]);
        Assert.Equal(2, _host.Calls.Count(c => c.StartsWith("qemu-img create")));
    }

    /// <summary>Two planned instances, w1 and w2, with <paramref name="groups"/> as their security groups.</summary>
    private static List<InstanceCreator.Planned> TwoPlanned(params string[] groups) => new[] { "w1", "w2" }.Select(n =>
    {
        var u = Guid.NewGuid();
        return new InstanceCreator.Planned(n, "i-" + n, u,
            new Domain { Name = n, Uuid = u, Metadata = new VfMetadata { InstanceId = "i-" + n, SecurityGroups = [.. groups] } }, [1]);
    }).ToList();

    private static readonly ImageManifest SmallImage = new() { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" }, VirtualSize = 1 << 20 };

    /// <summary>
    /// Each virsh call with <paramref name="verb"/> waits (up to 5 s) until a second one has begun too, then writes how many
    /// it saw to $FAKE/seen: calls made side by side both see 2; one after another, the first sees 1.
    /// </summary>
    private void MeetAtVirsh(string verb) => _host.Stub("virsh", $$"""
        case " $* " in
          *" {{verb}} "*) : > "$FAKE/at-{{verb}}.$$"; i=0
            while [ "$(ls "$FAKE" | grep -c '^at-{{verb}}\.')" -lt 2 ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
            ls "$FAKE" | grep -c '^at-{{verb}}\.' >> "$FAKE/seen" ;;
        esac
        exec sh "$FAKE/stubs/virsh" "$@"
        """);

    [Fact]
    public async Task InstancesOfAHostStartSideBySide()
    {
        MeetAtVirsh("start");
        var outcomes = await InstanceCreator.CreateOnHostAsync(_host, TwoPlanned(), SmallImage, InstanceType.Find(InstanceType.DefaultName), default);
        Assert.Equal(["i-w1", "i-w2"], outcomes.Select(o => o.Instance?.InstanceId));
        Assert.All(outcomes, o => { Assert.Null(o.Error); Assert.Equal(InstanceState.Running, o.Instance?.State); });
        Assert.Equal(["2", "2"], File.ReadAllLines(Path.Combine(_host.FakeDir, "seen")));
        Assert.All(new[] { "w1", "w2" }, n => Assert.False(File.Exists(Path.Combine(_host.Store, "instances", n, ".creating"))));
    }

    [Fact]
    public async Task WithoutATemporaryFolderInstancesAreCreatedOneByOne()
    {
        _host.Stub("mktemp", "exit 1");
        var outcomes = await InstanceCreator.CreateOnHostAsync(_host, TwoPlanned(), SmallImage, InstanceType.Find(InstanceType.DefaultName), default);
        Assert.Equal(["i-w1", "i-w2"], outcomes.Select(o => o.Instance?.InstanceId));
        Assert.All(outcomes, o => { Assert.Null(o.Error); Assert.Equal(InstanceState.Running, o.Instance?.State); });
    }

    [Fact]
    public async Task AnInstanceThatFailsBesideAnotherLeavesNothingAndTheOtherRuns()
    {
        _host.Stub("qemu-img", """
            case " $* " in *"/w2/root.qcow2 "*) echo 'no space left' >&2; exit 1 ;; esac
            exec sh "$FAKE/stubs/qemu-img" "$@"
            """);
        var outcomes = await InstanceCreator.CreateOnHostAsync(_host, TwoPlanned(), SmallImage, InstanceType.Find(InstanceType.DefaultName), default);
        Assert.Null(outcomes[0].Error);
        Assert.Equal(InstanceState.Running, outcomes[0].Instance?.State);
        Assert.Equal("CreateInstanceFailed", outcomes[1].Error?.ErrorId);
        Assert.Contains("no space left", outcomes[1].Error!.Message);
        Assert.False(Directory.Exists(Path.Combine(_host.Store, "instances", "w2")));
        Assert.False(_host.HasDomain("w2"));
        Assert.True(_host.HasDomain("w1"));
    }

    [Fact]
    public async Task InstancesOfAHostAreRemovedSideBySideAndStartedOneByOne()
    {
        foreach (var (n, u) in new[] { ("w1", U1), ("w2", U2) }) AddInstance(n, u, "running", "i-" + n);
        MeetAtVirsh("destroy");
        var targets = new List<InstanceActions.Target> { new("w1", "i-w1"), new("w2", "i-w2") };
        Assert.DoesNotContain("\nvf_beside ", InstanceActions.BuildScript(InstanceAction.Start, targets, 60, false).Render("n"));
        Assert.Contains("\nvf_beside vf_act stop w1 ", InstanceActions.BuildScript(InstanceAction.Stop, targets, 60, false).Render("n"));
        var outcomes = await InstanceActions.Step(InstanceAction.Remove, targets, 60, false).RunAsync(_host, default);
        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.Equal(["w1", "w2"], outcomes.Select(o => o.Name));
        Assert.False(_host.HasDomain("w1"));
        Assert.False(_host.HasDomain("w2"));
        Assert.Equal(["2", "2"], File.ReadAllLines(Path.Combine(_host.FakeDir, "seen")));
    }

    [Fact]
    public async Task ARemovalByPatternFindsItsInstancesOnTheHostAndLeavesWhatIsNotVirtFleets()
    {
        AddInstance("Web1", U1, "running", "i-web1");
        AddInstance("web2", U2, "shut off", "i-web2");
        AddInstance("db1", Guid.NewGuid(), "running", "i-db1");
        AddInstance("other", Guid.NewGuid(), "running", null);
        var keep = Guid.NewGuid();
        AddInstance("keep", keep, "running", "i-keep");
        string[] patterns = ["web*", "i-db1", "oth?r"];
        var outcomes = await InstanceActions.RemoveMatchingStep(patterns.Select(p => Wildcard.ToShellPattern(p)!).ToList(), force: false).RunAsync(_host, default);

        // Names in any case, an instance id, and the domain VirtFleet did not make refused (without -Force), each as it was.
        Assert.Equal(["Web1", "db1", "other", "web2"], outcomes.Select(o => o.Name).Order(StringComparer.Ordinal));
        Assert.All(outcomes.Where(o => o.Name != "other"), o => Assert.Null(o.Error));
        Assert.Equal("i-web1", outcomes.Single(o => o.Name == "Web1").Instance?.InstanceId);
        Assert.Equal(InstanceState.Stopped, outcomes.Single(o => o.Name == "web2").Instance?.State);
        var refused = outcomes.Single(o => o.Name == "other").Error;
        Assert.Equal("NotCreatedByVirtFleet", refused?.ErrorId);
        Assert.EndsWith("other was not created by VirtFleet; it is left alone (use -Force to remove it).", refused!.Message);
        Assert.True(_host.HasDomain("other"));
        Assert.True(_host.HasDomain("keep"));
        Assert.All(new[] { "Web1", "web2", "db1" }, n => Assert.False(_host.HasDomain(n)));

        // With -Force the foreign domain goes too; a pattern that cannot name an id reads no metadata of the others.
        var before = _host.Calls.Count;
        var forced = await InstanceActions.RemoveMatchingStep(["oth*"], force: true).RunAsync(_host, default);
        Assert.Null(Assert.Single(forced).Error);
        Assert.False(_host.HasDomain("other"));
        Assert.DoesNotContain(_host.Calls.Skip(before), c => c.Contains(" metadata ") && c.Contains(keep.ToString()));
        Assert.Contains(_host.Calls.Take(before), c => c.Contains(" metadata ") && c.Contains(keep.ToString()));
        Assert.True(_host.HasDomain("keep"));
    }

    [Fact]
    public async Task ARemovalByPatternWhoseListingFailsRemovesNothingAndSaysSo()
    {
        AddInstance("web1", U1, "running", "i-web1");
        _host.Stub("virsh", """
            case " $* " in *" list "*) echo 'error: failed to connect to the hypervisor' >&2; exit 1 ;; esac
            exec sh "$FAKE/stubs/virsh" "$@"
            """);
        var e = await Assert.ThrowsAsync<VfException>(() => InstanceActions.RemoveMatchingStep(["web*"], force: false).RunAsync(_host, default));
        Assert.Equal("InstanceActionFailed", e.ErrorId);
        Assert.Contains("failed to connect to the hypervisor", e.Message);
        Assert.True(_host.HasDomain("web1"));
    }

    [Theory]
    [InlineData("web-*", "web-*")]
    [InlineData("WEB-?[0-9]", "web-?[0-9]")]
    [InlineData("i-12AB", "i-12ab")]
    [InlineData("web 1", null)]
    [InlineData("[!a]*", null)]
    [InlineData("a$(touch x)", null)]
    [InlineData("a'b", null)]
    [InlineData("web[", null)]
    [InlineData("", null)]
    public void OnlyPlainWildcardsBecomeShellPatterns(string pattern, string? shell) => Assert.Equal(shell, Wildcard.ToShellPattern(pattern));

    [Fact]
    public void OnlyUnguardedInstancesAreCreatedSideBySide()
    {
        // A firewall guard reads and rewrites the host's tables: guarded instances are created one after another.
        string Script(List<InstanceCreator.Planned> p) => InstanceCreator.BuildScript(p, SmallImage, 1 << 30).Render("n");
        var open = Script(TwoPlanned());
        Assert.Contains("\nvf_beside vf_create_beside w1 ", open);
        Assert.Contains("\nvf_beside vf_create_beside w2 ", open);
        Assert.Contains("\nvf_join\n", open);
        var guarded = Script(TwoPlanned("web"));
        Assert.Contains("vf_create w1 ", guarded);
        Assert.DoesNotContain("vf_create_beside w1 ", guarded);
        var single = Script(TwoPlanned().Take(1).ToList());
        Assert.Contains("vf_create w1 ", single);
        Assert.DoesNotContain("\nvf_join\n", single);
    }

    [Fact]
    public async Task ACreateReturnsADomainOfItsNameWithoutFolderAndLeavesNothingOfItsOwn()
    {
        // Someone else's domain w1 (no VirtFleet folder): libvirt refuses the definition, the create answers "exists" and
        // removes what it made; the domain is left as it was.
        AddInstance("w1", U1, "running", null);
        var uuid = Guid.NewGuid();
        var planned = new InstanceCreator.Planned("w1", "i-1", uuid, new Domain { Name = "w1", Uuid = uuid, Metadata = new VfMetadata { InstanceId = "i-1" } }, [1]);
        var image = new ImageManifest { Name = "img", Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" }, VirtualSize = 1 << 20 };
        var o = Assert.Single(await InstanceCreator.CreateOnHostAsync(_host, [planned], image, InstanceType.Find(InstanceType.DefaultName), default));
        Assert.Null(o.Error);
        Assert.True(o.Existed);
        Assert.False(o.Instance?.IsVirtFleet);
        Assert.Equal(U1.ToString(), File.ReadAllText(Path.Combine(_host.Store, "..", "domains", "w1", "uuid")).Trim());
        Assert.Equal("running", _host.DomainState("w1"));
        Assert.False(Directory.Exists(Path.Combine(_host.Store, "instances", "w1")));
    }

    [Fact]
    public async Task TheSurveyReadsFactsCapabilitiesAndNamesInOneVirshWithoutQemu()
    {
        AddInstance("web1", U1, "running", "i-1");
        var survey = await InstanceCreator.SurveyAsync(_host, "img", default);
        Assert.Equal(["web1"], survey.DomainNames);
        Assert.True(survey.Facts.LibvirtRunning);
        Assert.Null(survey.Facts.QemuVersion);
        Assert.DoesNotContain(survey.Facts.Problems, p => p.Contains("qemu"));
        Assert.Equal("x86_64", survey.Capabilities.Arch);
        Assert.Single(_host.Calls, c => c.StartsWith("virsh"));
        Assert.DoesNotContain(_host.Calls, c => c.StartsWith("qemu-system"));
    }

    [Fact]
    public async Task ARemoveAsksLibvirtTwiceAnInstanceAndKeepsTheChecks()
    {
        // metadata (the ownership check), then destroy + undefine in one virsh; a foreign domain and a stale id are refused.
        AddInstance("web1", U1, "running", "i-1");
        AddInstance("web2", U2, "running", null);
        var outcomes = await InstanceActions.RunAsync(_host, InstanceAction.Remove, [new("web1", "i-1"), new("web2", "")], 60, false, default);
        Assert.Null(outcomes[0].Error);
        Assert.False(_host.HasDomain("web1"));
        Assert.Equal("NotCreatedByVirtFleet", outcomes[1].Error?.ErrorId);
        Assert.True(_host.HasDomain("web2"));
        var virsh = _host.Calls.Where(c => c.StartsWith("virsh")).ToList();
        Assert.Equal(4, virsh.Count);   // web1: metadata, destroy+undefine; web2: metadata (none), domuuid
        Assert.Contains(virsh, c => c.EndsWith("destroy web1; undefine --nvram --snapshots-metadata web1"));
    }

    [Fact]
    public async Task ARemoveDeletesOnlyPlainFilesInTheInstancesFolderThatItsMetadataNames()
    {
        var dir = Path.Combine(_host.Store, "instances", "web1");
        var outside = Path.Combine(_host.Store, "keep");
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(outside);
        foreach (var f in new[] { "root.qcow2", "unlisted.img" }) File.WriteAllText(Path.Combine(dir, f), "x");
        File.WriteAllText(Path.Combine(outside, "target.img"), "x");
        File.CreateSymbolicLink(Path.Combine(dir, "seed.iso"), Path.Combine(outside, "target.img"));
        var md = new VfMetadata
        {
            InstanceId = "i-1",
            Disks = [dir + "/root.qcow2", dir + "/seed.iso", outside + "/target.img", dir + "/../keep/target.img", dir + "/unlisted.img/../root.qcow2"],
        };
        _host.AddDomain("web1", U1, "running", new Domain { Name = "web1", Uuid = U1, Metadata = md }.ToXmlString(), md.ToXml().ToString());
        var o = Assert.Single(await InstanceActions.RunAsync(_host, InstanceAction.Remove, [new("web1", "i-1")], 60, false, default));
        Assert.Null(o.Error);
        Assert.False(File.Exists(Path.Combine(dir, "root.qcow2")));
        Assert.True(File.Exists(Path.Combine(outside, "target.img")));   // neither through the link nor by its own path
        Assert.True(File.Exists(Path.Combine(dir, "unlisted.img")));     // not named by the metadata
        Assert.True(File.Exists(Path.Combine(dir, "seed.iso")) || new FileInfo(Path.Combine(dir, "seed.iso")).LinkTarget is not null);
    }

    [Fact]
    public async Task WaitingAsksForEachInstanceAndMacQuoted()
    {
        AddInstance("web1", U1, "running", "i-1");
        var ready = await InstanceWaiter.WaitAsync(_host, [new Instance { Name = "web1", Host = "fake" }], 5, default);
        Assert.Equal(InstanceState.Running, ready["web1"].State);
        Assert.Contains(_host.Calls, c => c.StartsWith("virsh") && c.EndsWith("domstate web1"));
    }

    [Fact]
    public async Task ADocumentIsWrittenOnlyOverTheCopyItWasReadAtUnderTheLock()
    {
        var text = "{ \"version\": 1 }\n'$(touch /tmp/vf-canary)'\n";
        var v1 = await NetworkStore.WriteAsync(_host, NetworkStore.NetworksFile, text, "none", default);
        var path = Path.Combine(_host.Store, "network", NetworkStore.NetworksFile);
        Assert.Equal(text, File.ReadAllText(path));
        Assert.Equal(NetworkStore.VersionOf(text), v1);
        Assert.Contains(_host.Calls, c => c.StartsWith("flock -x "));
        // A writer that read the file before it existed: its write is refused, the file is as it was.
        var e = await Assert.ThrowsAsync<VfException>(() => NetworkStore.WriteAsync(_host, NetworkStore.NetworksFile, "other\n", "none", default));
        Assert.Equal("NetworkDocumentChanged", e.ErrorId);
        Assert.Equal(text, File.ReadAllText(path));
        Assert.Equal(v1, (await NetworkStore.ReadAsync(_host, default)).Networks.Version);
        Assert.False(File.Exists("/tmp/vf-canary"));
    }

    [Fact]
    public async Task StepsOfOneRoundTripEachGetTheirOwnStandardInput()
    {
        var batch = new HostBatch();
        var a = batch.Add(HostScript.Load("image-manifest").Set("dir", _host.Store).Input("first\n"u8.ToArray()).Locked().Reads(r => r.ExitCode));
        var list = batch.Add(InstanceReader.ListStep());
        var b = batch.Add(HostScript.Load("document-write").Set("file", _host.Store + "/b.json").Set("expected", "none").Set("changed", "x")
            .Input("second\n"u8.ToArray()).Locked().Reads(r => r.ExitCode));
        await batch.RunAsync(_host, default);
        Assert.Equal((0, 0), (a.Value, b.Value));
        Assert.Empty(list.Value);
        Assert.Equal("first\n", File.ReadAllText(Path.Combine(_host.Store, "image.json")));
        Assert.Equal("second\n", File.ReadAllText(Path.Combine(_host.Store, "b.json")));
        Assert.Single(_host.Scripts);
    }

    [Fact]
    public async Task ImagesAreListedWhateverTheirManifestsSay()
    {
        foreach (var (name, description) in new[] { ("a", "@@VF-IMAGE@@"), ("b", "plain") })
        {
            var dir = Path.Combine(_host.Store, "images", name);
            Directory.CreateDirectory(dir);
            var m = new ImageManifest { Name = name, Disk = "disk.qcow2", Files = new() { ["disk.qcow2"] = "aa" }, Cmdline = description };
            File.WriteAllText(Path.Combine(dir, "image.json"), m.ToJson());
        }
        var images = await ImageStore.ListOnHostAsync(_host, default);
        Assert.Equal(["a", "b"], images.Select(i => i.Name).Order());
        Assert.Equal("@@VF-IMAGE@@", images.Single(i => i.Name == "a").Cmdline);
        Assert.Equal("b", (await ImageStore.ReadFromHostAsync(_host, "b", default))?.Name);
        Assert.Null(await ImageStore.ReadFromHostAsync(_host, "c", default));
    }
}
