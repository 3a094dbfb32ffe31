using System.Net;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Issue 13's security defects 9 and 16 in pure logic (the lab tests prove them on hosts).</summary>
public class SecurityDefectTests
{
    static readonly SecurityGroup Web = new("web", null, [SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0")]);
    static readonly FirewallInstance Web1 = new("web1", "i-1", [new FirewallNic("vnet0", "vfn1000", IPAddress.Parse("203.0.113.131"))], ["web"]);

    [Fact]
    public void OverIpv6AFilteredInstanceAdmitsOnlyRepliesAndNeighbourDiscovery()
    {
        var plan = FirewallPlanner.Plan([Web1], [Web]);
        Assert.Equal([
            ":VF-FORWARD - [0:0]", ":VF-I-i-1 - [0:0]",
            "-A VF-FORWARD -m physdev --physdev-out vnet0 --physdev-is-bridged -m comment --comment \"vf:web1 vnet0\" -j VF-I-i-1",
            "-A VF-I-i-1 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
            "-A VF-I-i-1 -p ipv6-icmp -m icmp6 --icmpv6-type 134 -j RETURN",
            "-A VF-I-i-1 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN",
            "-A VF-I-i-1 -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN",
            "-A VF-I-i-1 -m comment --comment \"vf:web1 default deny\" -j DROP",
        ], plan.Lines6);
        // The group's IPv4 rule does not open anything over IPv6.
        Assert.DoesNotContain(plan.Lines6, l => l.Contains("dport 80"));
    }

    [Fact]
    public void AHostsCopyOfTheLastDocumentIsReadExactlyAsItIsOnDisk()
    {
        var groups = SecurityGroupStore.ToJson([Web], 3);
        var m = new VirtFleet.HostScripts.HostMarkers("n0");
        var stdout = $"\n{m["DOC"]} networks.json\nnone\n\n{m["DOC"]} addresses.json\nnone\n\n{m["DOC"]} groups.json\n" +
                     NetworkStore.VersionOf(groups) + "\n" + groups + $"\n{m["SECTION"]} domains\n";
        var copy = HostNetworkState.Parse("h1", stdout, m).Docs.Groups;
        Assert.Equal(groups, copy.Text);
        Assert.Equal(copy.Version, NetworkStore.VersionOf(copy.Text));
    }

    static string Check(FirewallPlan plan, IEnumerable<string> v6) =>
        "-A FORWARD -j VF-FORWARD\n" + plan.RestoreBody + "@@VF-BRIDGE-NF@@ 1\n@@VF-IP6-READ@@\n" + string.Concat(v6.Select(l => "@@VF-IP6@@ " + l + "\n"));

    [Fact]
    public void MissingIpv6ChainsAreDriftAndAHostWithoutIpv6IsNot()
    {
        var plan = FirewallPlanner.Plan([Web1], [Web]);
        Assert.True(FirewallStatus.Compare(plan, Check(plan, ["-A FORWARD -j VF-FORWARD", .. plan.Lines6])).InSync);
        var flushed = FirewallStatus.Compare(plan, Check(plan, ["-A FORWARD -j VF-FORWARD", .. plan.Lines6.Where(l => !l.StartsWith("-A VF-I-"))]));
        Assert.False(flushed.InSync);
        Assert.Contains(flushed.Problems, p => p.StartsWith("ip6tables: missing: -A VF-I-i-1"));
        Assert.Contains("ip6tables: FORWARD does not jump to VF-FORWARD", FirewallStatus.Compare(plan, Check(plan, plan.Lines6)).Problems);
        // No IPv6 in the host's kernel: the read prints no IPv6 section, and nothing is missing.
        Assert.True(FirewallStatus.Compare(plan, "-A FORWARD -j VF-FORWARD\n" + plan.RestoreBody + "@@VF-BRIDGE-NF@@ 1\n").InSync);
    }

    [Fact]
    public void ANewInstancesDefaultDenyIsReadyBeforeItsTapIsKnown()
    {
        var (v4, v6) = FirewallPlanner.Guard("web1", "i-1");
        Assert.Equal([
            ":VF-I-i-1 - [0:0]",
            "-A VF-I-i-1 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
            "-A VF-I-i-1 -m comment --comment \"vf:web1 default deny\" -j DROP",
            "-I VF-FORWARD 1 -m physdev --physdev-out @VF-TAP@ --physdev-is-bridged -m comment --comment \"vf:web1 @VF-TAP@\" -j VF-I-i-1",
        ], v4);
        Assert.Contains("-A VF-I-i-1 -m comment --comment \"vf:web1 default deny\" -j DROP", v6);
        Assert.Equal(v4[^1], v6[^1]);
        // With the tap filled in, the guard's jump is the full plan's jump: the post-create apply only adds the groups' rules.
        Assert.Contains(v4[^1].Replace("-I VF-FORWARD 1 ", "-A VF-FORWARD ").Replace(FirewallPlanner.TapPlaceholder, "vnet0"), FirewallPlanner.Plan([Web1], [Web]).Rules);
        Assert.Throws<VfException>(() => FirewallPlanner.Guard("web1;x", "i-1"));
    }
}

/// <summary>
/// Issue 13, defect 13: the removal script itself, run on a <see cref="FakeHost"/> (a stand-in for virsh and a scratch
/// store): ownership and disk paths are decided on the host from the domain's own metadata.
/// </summary>
public class RemoveScriptTests
{
    static (VirtFleet.Instances.InstanceActions.Outcome Outcome, FakeHost Host) Run(string name, string? expectedId, bool force, string metadata)
    {
        var host = new FakeHost();
        var store = host.Store;
        host.AddDomain(name, Guid.NewGuid(), "running", $"<domain type='qemu'><name>{name}</name><memory>65536</memory><vcpu>1</vcpu></domain>",
            metadata.Length == 0 ? null : metadata.Replace("STORE", store));
        Directory.CreateDirectory(Path.Combine(store, "instances", name));
        Directory.CreateDirectory(Path.Combine(store, "instances", "victim"));
        File.WriteAllText(Path.Combine(store, "instances", name, "root.qcow2"), "x");
        File.WriteAllText(Path.Combine(store, "instances", "victim", "root.qcow2"), "precious");
        var outcomes = VirtFleet.Instances.InstanceActions.RunAsync(host, VirtFleet.Instances.InstanceAction.Remove,
            [new VirtFleet.Instances.InstanceActions.Target(name, expectedId)], 60, force, default).GetAwaiter().GetResult();
        return (Assert.Single(outcomes), host);
    }

    const string Meta = "<vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'>\n  <vf:id>i-9</vf:id>\n  <vf:disks>\n" +
                        "    <vf:disk>STORE/instances/web1/root.qcow2</vf:disk>\n    <vf:disk>STORE/instances/web1/../victim/root.qcow2</vf:disk>\n" +
                        "  </vf:disks>\n</vf:instance>\n";

    [Fact]
    public void RemoveKeepsADiskTheMetadataNamesThroughDotDot()
    {
        var (outcome, host) = Run("web1", "i-9", false, Meta);
        using var _ = host;
        Assert.Null(outcome.Error);
        Assert.Contains(host.Calls, c => c.StartsWith("virsh") && c.Contains(" undefine "));
        Assert.False(host.HasDomain("web1"));
        Assert.False(File.Exists(Path.Combine(host.Store, "instances", "web1", "root.qcow2")));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(host.Store, "instances", "victim", "root.qcow2")));
    }

    [Fact]
    public void MetadataPrintedOnOneLineIsReadTheSame()
    {
        var (outcome, host) = Run("web1", "i-9", false, Meta.Replace("\n", "").Replace("  ", ""));
        using var _ = host;
        Assert.Null(outcome.Error);
        Assert.False(File.Exists(Path.Combine(host.Store, "instances", "web1", "root.qcow2")));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(host.Store, "instances", "victim", "root.qcow2")));
    }

    [Theory]
    [InlineData("i-8", false)]   // a new VirtFleet instance took the name
    [InlineData("i-8", true)]
    public void AStaleObjectNeverRemovesTheDomainThatTookItsName(string readId, bool force)
    {
        var (outcome, host) = Run("web1", readId, force, Meta);
        using (host)
        {
            Assert.Equal("InstanceChanged", outcome.Error?.ErrorId);
            Assert.DoesNotContain(host.Calls, c => c.Contains(" undefine ") || c.Contains(" destroy "));
            Assert.True(File.Exists(Path.Combine(host.Store, "instances", "web1", "root.qcow2")));
        }
        // A hand-made domain (no VirtFleet metadata) under the name of an instance that was read.
        (outcome, host) = Run("web1", readId, force, "");
        using (host)
        {
            Assert.Equal("InstanceChanged", outcome.Error?.ErrorId);
            Assert.DoesNotContain(host.Calls, c => c.Contains(" undefine ") || c.Contains(" destroy "));
        }
    }
}
