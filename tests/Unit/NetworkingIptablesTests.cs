using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Transport;
using Xunit;
using static VirtFleet.Tests.NetworkingPlannerTests;

namespace VirtFleet.Tests;

/// <summary>
/// The generated host scripts against real iptables, each test in a throwaway network namespace
/// (vfnettest-&lt;pid&gt;-&lt;n&gt;, never the lab's) holding libvirt-like and admin rules of its own. Runs for the
/// machine's default backend ("nft" on Debian 12: iptables-nft) and, when installed, for iptables-legacy
/// through a PATH shim inside the test only. Needs root; skips otherwise.
/// </summary>
public partial class NetworkingIptablesTests
{
    public static TheoryData<string> Backends => NetnsHost.LegacyAvailable ? ["nft", "legacy"] : ["nft"];

    const string Foreign = """
        iptables -N LIBVIRT_FWX && iptables -N LIBVIRT_FWI && iptables -N LIBVIRT_FWO || exit 1
        iptables -A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT
        iptables -A LIBVIRT_FWI -d 198.51.100.0/24 -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        iptables -A LIBVIRT_FWI -o virbr0 -j REJECT
        iptables -A LIBVIRT_FWO -s 198.51.100.0/24 -i virbr0 -j ACCEPT
        for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do iptables -I FORWARD 1 -j $c; done
        iptables -A FORWARD -s 203.0.113.0/24 -m comment --comment 'admin: block "them"' -j DROP
        iptables -A INPUT -s 203.0.113.5/32 -p tcp --dport 22 -j ACCEPT
        iptables -N VF-ADMIN && iptables -A VF-ADMIN -j RETURN && iptables -A INPUT -j VF-ADMIN
        iptables -t nat -A POSTROUTING -s 198.51.100.0/24 ! -d 198.51.100.0/24 -j MASQUERADE
        iptables -P FORWARD DROP
        """;

    static readonly FirewallPlan PlanA = FirewallPlanner.Plan(SampleInstances, SampleGroups);
    // db-1 and "stopped" are gone; web-1 changed groups.
    static readonly FirewallPlan PlanB = FirewallPlanner.Plan([SampleInstances[0] with { Groups = ["db"] }], SampleGroups);

    [IptablesTheory, MemberData(nameof(Backends))]
    public async Task ApplyReapplyAndRemoveTouchOnlyOurChains(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, Foreign);
        var baseline = await host.SaveAsync();
        Assert.DoesNotContain(baseline, l => l.Contains("VF-FORWARD"));

        await HostFirewall.ApplyAsync(host, PlanA, default);
        var applied = await host.SaveAsync();
        Assert.Equal(Outside(baseline), Outside(applied));
        Assert.Equal(IptablesText.Jump, applied.First(l => l.StartsWith("-A FORWARD ")));
        await AssertInSync(host, PlanA);

        for (var i = 0; i < 100; i++) await HostFirewall.ApplyAsync(host, PlanA, default);
        Assert.Equal(applied, await host.SaveAsync());

        var changed = await HostFirewall.ApplyAsync(host, PlanB, default);
        Assert.Equal(["VF-I-i-00ff00ff", "VF-I-i-99999999"], changed.RemovedChains.Order());
        Assert.Empty(changed.KeptChains);
        Assert.Equal(Outside(baseline), Outside(await host.SaveAsync()));
        await AssertInSync(host, PlanB);

        var removed = await HostFirewall.RemoveAsync(host, default);
        Assert.Equal(["VF-FORWARD", "VF-I-i-0a1b2c3d"], removed.RemovedChains.Order());
        Assert.Equal(baseline, await host.SaveAsync());
        await AssertInSync(host, FirewallPlan.None);
        await HostFirewall.RemoveAsync(host, default);
        Assert.Equal(baseline, await host.SaveAsync());
    }

    [IptablesTheory, MemberData(nameof(Backends))]
    public async Task OurJumpReturnsToTheTopOfForward(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, Foreign);
        await HostFirewall.ApplyAsync(host, PlanA, default);
        // libvirt re-inserting its jumps (network restart after a flush), an admin inserting at the top,
        // and a stray second copy of our jump at the end.
        await host.ShAsync("""
            for c in LIBVIRT_FWO LIBVIRT_FWI LIBVIRT_FWX; do iptables -D FORWARD -j $c && iptables -I FORWARD 1 -j $c || exit 1; done
            iptables -I FORWARD 1 -s 203.0.113.66/32 -j DROP && iptables -A FORWARD -j VF-FORWARD
            """);
        var moved = await host.SaveAsync();
        var status = await HostFirewall.CheckAsync(host, PlanA, default);
        Assert.False(status.InSync);
        Assert.Equal((2, false), (status.Jumps, status.JumpFirst));

        await HostFirewall.ApplyAsync(host, PlanA, default);
        var forward = (await host.SaveAsync()).Where(l => l.StartsWith("-A FORWARD ")).ToList();
        Assert.Equal(IptablesText.Jump, forward[0]);
        Assert.Single(forward, IptablesText.Jump);
        Assert.Equal(Outside(moved), Outside(await host.SaveAsync()));
        await AssertInSync(host, PlanA);
    }

    [IptablesTheory, MemberData(nameof(Backends))]
    public async Task DriftIsDetectedAndRepaired(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, Foreign);
        await HostFirewall.ApplyAsync(host, PlanA, default);
        var applied = await host.SaveAsync();

        // Someone flushes one of our chains and adds a rule to another.
        await host.ShAsync("iptables -F VF-I-i-0a1b2c3d && iptables -I VF-I-i-00ff00ff 1 -j RETURN");
        var status = await HostFirewall.CheckAsync(host, PlanA, default);
        Assert.Equal(PlanA.Rules.Count(r => r.StartsWith("-A VF-I-i-0a1b2c3d ")), status.Missing.Count);
        Assert.Equal(["-A VF-I-i-00ff00ff -j RETURN"], status.Unexpected);
        await HostFirewall.ApplyAsync(host, PlanA, default);
        Assert.Equal(applied, await host.SaveAsync());

        // A reboot or `iptables -F; -X` of ours: everything missing, then back.
        await host.ShAsync("""
            iptables -D FORWARD -j VF-FORWARD && iptables -F VF-FORWARD && iptables -X VF-FORWARD || exit 1
            for c in $(iptables -S | sed -n 's/^-N \(VF-I-.*\)$/\1/p'); do iptables -F $c && iptables -X $c || exit 1; done
            """);
        status = await HostFirewall.CheckAsync(host, PlanA, default);
        Assert.Equal((0, PlanA.Lines.Count), (status.Jumps, status.Missing.Count));
        await HostFirewall.ApplyAsync(host, PlanA, default);
        Assert.Equal(applied, await host.SaveAsync());
    }

    [IptablesTheory, MemberData(nameof(Backends))]
    public async Task AStaleChainAForeignRuleStillUsesIsKept(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, Foreign);
        await HostFirewall.ApplyAsync(host, PlanA, default);
        await host.ShAsync("iptables -A INPUT -j VF-I-i-99999999");
        var applied = await HostFirewall.ApplyAsync(host, PlanB, default);
        Assert.Equal(["VF-I-i-00ff00ff"], applied.RemovedChains);
        Assert.Equal(["VF-I-i-99999999"], applied.KeptChains);
        Assert.Single(applied.Warnings);
        Assert.Contains("-A INPUT -j VF-I-i-99999999", await host.SaveAsync());

        await host.ShAsync("iptables -D INPUT -j VF-I-i-99999999");
        Assert.Equal(["VF-I-i-99999999"], (await HostFirewall.ApplyAsync(host, PlanB, default)).RemovedChains);
        await AssertInSync(host, PlanB);
    }

    [IptablesTheory, MemberData(nameof(Backends))]
    public async Task HostileCommentsReachIptablesAsText(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, Foreign);
        var canary = $"/tmp/vfnettest-canary-{Environment.ProcessId}";
        string[] hostile =
        [
            "vf:a \"quoted\" -j ACCEPT", "back\\slash\\", "it's", $"$(touch {canary})", $"`touch {canary}`", "; touch x #",
            "# not a comment line", "-A FORWARD -j ACCEPT", "COMMIT", "\"", "'", "\\\"", "ünïcødé", "",
        ];
        var rules = hostile.Select(h => $"-A VF-I-quote -m comment --comment {IptablesText.Quote(h)} -j RETURN").ToList();
        var plan = new FirewallPlan(["VF-FORWARD", "VF-I-quote"], rules, []);

        await HostFirewall.ApplyAsync(host, plan, default);
        await AssertInSync(host, plan);
        var save = await host.SaveAsync();
        Assert.Equal(rules, save.Where(l => l.StartsWith("-A VF-I-quote ")));
        Assert.Equal(hostile, save.Where(l => l.StartsWith("-A VF-I-quote ")).Select(UnquotedComment));
        Assert.False(File.Exists(canary));
        Assert.DoesNotContain("-A FORWARD -j ACCEPT", save);
        await HostFirewall.RemoveAsync(host, default);
    }

    [IptablesTheory(needsStore: true), MemberData(nameof(Backends))]
    public async Task GroupsAreStoredOnTheHostWithoutLostUpdates(string backend)
    {
        using var host = await NetnsHost.CreateAsync(backend, "");
        var empty = await SecurityGroupStore.LoadAsync(host, default);
        Assert.Equal((0, SecurityGroupStore.Absent), (empty.Groups.Count, empty.Version));

        var v1 = await SecurityGroupStore.SaveAsync(host, SampleGroups, 1, empty.Version, default);
        var read = await SecurityGroupStore.LoadAsync(host, default);
        Assert.Equal(v1, read.Version);
        Assert.Equal(SecurityGroupStore.ToJson(SampleGroups, 1), SecurityGroupStore.ToJson(read.Groups, read.Generation));
        Assert.Equal(SecurityGroupStore.ToJson(SampleGroups, 1), File.ReadAllText(host.StorePath));

        // Another run saved in between: a save from the old version is refused and changes nothing.
        await SecurityGroupStore.SaveAsync(host, SampleGroups[..1], 2, v1, default);
        var e = await Assert.ThrowsAsync<VfException>(() => SecurityGroupStore.SaveAsync(host, SampleGroups[1..], 2, v1, default));
        Assert.Equal(("SecurityGroupsChanged", FailureKind.ResourceUnavailable), (e.ErrorId, e.Kind));
        Assert.Equal(["web"], (await SecurityGroupStore.LoadAsync(host, default)).Groups.Select(g => g.Name));
    }

    static async Task AssertInSync(NetnsHost host, FirewallPlan plan)
    {
        var status = await HostFirewall.CheckAsync(host, plan, default);
        Assert.True(status.InSync, string.Join("\n", status.Problems));
        Assert.Empty(status.Warnings);
    }

    // The save without anything of ours: what must never change.
    static List<string> Outside(IEnumerable<string> save)
    {
        var ours = IptablesText.Ours(save).ToHashSet();
        return save.Where(l => l != IptablesText.Jump && !ours.Contains(Regex.Replace(l, @"\[\d+:\d+\]$", "[0:0]"))).ToList();
    }

    static string UnquotedComment(string rule)
    {
        var m = Regex.Match(rule, "--comment (\"(?:[^\"\\\\]|\\\\.)*\"|\\S+) -j");
        var v = m.Groups[1].Value;
        return v.StartsWith('"') ? Regex.Replace(v[1..^1], @"\\(.)", "$1") : v;
    }
}

/// <summary>A theory skipped, with the reason, when not root or iptables/ip are missing.</summary>
public sealed class IptablesTheoryAttribute : TheoryAttribute
{
    public IptablesTheoryAttribute(bool needsStore = false)
    {
        var missing = new[] { "ip", "iptables", "iptables-save", "iptables-restore", "flock" }.Where(p => CloudInitTooling.Find(p) is null).ToList();
        if (!Environment.IsPrivilegedProcess) Skip = "needs root (network namespaces and iptables)";
        else if (missing.Count > 0) Skip = $"{string.Join(", ", missing)} missing: apt-get install -y iptables iproute2 util-linux";
        else if (needsStore && !Directory.Exists("/var/lib/libvirt")) Skip = "needs /var/lib/libvirt to mount a test store over";
    }
}

/// <summary>
/// A "host" that is a throwaway network namespace: each script runs as `ip netns exec NS sh -c` in a
/// subshell, standard input piped, like SshHost does over SSH. /run/lock, /run/virtfleet and /var/lib/libvirt are
/// private temporary folders inside it (ip netns exec makes a mount namespace of its own), so neither
/// the machine's lock nor its store is touched.
/// </summary>
internal sealed class NetnsHost : IRemoteHost, IDisposable
{
    const string Prefix = "vfnettest-";
    static int _count;
    readonly string _dir = Directory.CreateTempSubdirectory(Prefix).FullName;

    public string Namespace { get; } = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref _count)}";
    public HostEntry Host { get; }
    public string StorePath => _dir + "/libvirt" + SecurityGroupStore.DocumentPath["/var/lib/libvirt".Length..];

    public static bool LegacyAvailable => CloudInitTooling.Find("xtables-legacy-multi") is not null;

    NetnsHost(string backend)
    {
        Host = new HostEntry { Name = Namespace, Address = "127.0.0.1" };
        foreach (var d in new[] { "lock", "run-virtfleet", "libvirt", "bin" }) Directory.CreateDirectory(Path.Combine(_dir, d));
        if (backend == "legacy")
            foreach (var tool in new[] { "iptables", "iptables-save", "iptables-restore" })
                File.CreateSymbolicLink(Path.Combine(_dir, "bin", tool), CloudInitTooling.Find("xtables-legacy-multi")!);
    }

    public static async Task<NetnsHost> CreateAsync(string backend, string setup)
    {
        RemoveLeftovers();
        var host = new NetnsHost(backend);
        try
        {
            Exec("ip", "netns", "add", host.Namespace);
            var version = await host.ShAsync("iptables --version");
            Assert.Contains(backend == "legacy" ? "(legacy)" : "(nf_tables)", version);
            if (setup.Length > 0) await host.ShAsync(setup);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public async Task<string> ShAsync(string script)
    {
        var r = await RunAsync(script, default);
        Assert.True(r.Succeeded, $"{script}\nexit {r.ExitCode}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>iptables-save of every table, without '#' lines and with counters zeroed.</summary>
    public async Task<List<string>> SaveAsync() =>
        (await ShAsync("iptables-save")).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => Regex.Replace(l, @"\[\d+:\d+\]$", "[0:0]")).ToList();

    const string Wrapper = """
        mkdir -p /run/virtfleet && mount --bind "$1/run-virtfleet" /run/virtfleet || exit 90
        mount --bind "$1/lock" /run/lock && mount --bind "$1/libvirt" /var/lib/libvirt || exit 90
        PATH="$1/bin:$PATH"; export PATH
        ( eval "$2" )
        """;

    public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo("ip", ["netns", "exec", Namespace, "sh", "-c", Wrapper, "sh", _dir, script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            Environment = { ["LC_ALL"] = "C" },
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        if (stdin is not null) await p.StandardInput.BaseStream.WriteAsync(stdin, ct);
        p.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout ?? TimeSpan.FromMinutes(1));
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw; }
        return new CommandResult(p.ExitCode, await stdout, await stderr);
    }

    public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) =>
        throw new NotSupportedException();

    public void Dispose()
    {
        Exec(true, "ip", "netns", "del", Namespace);
        Directory.Delete(_dir, recursive: true);
    }

    // Namespaces of test runs that died before cleaning up (their pid is gone); never anyone else's.
    static void RemoveLeftovers()
    {
        foreach (var name in Exec("ip", "netns", "list").Split('\n').Select(l => l.Split(' ')[0]))
            if (Regex.Match(name, $@"^{Prefix}(\d+)-\d+$") is { Success: true } m && !Directory.Exists($"/proc/{m.Groups[1].Value}"))
                Exec(true, "ip", "netns", "del", name);
    }

    static string Exec(string program, params string[] args) => Exec(false, program, args);

    static string Exec(bool allowFailure, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (!allowFailure) Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result}");
        return output;
    }
}
