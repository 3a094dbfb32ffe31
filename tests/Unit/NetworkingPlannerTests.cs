using System.Net;
using VirtFleet.Libvirt;
using VirtFleet.Networking;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>
/// The iptables plan for a host, compared byte for byte with tests/Unit/Golden/Networking/*.rules.
/// After an intended change: VF_UPDATE_GOLDEN=1 dotnet test tests/Unit -c Release, then review the diff.
/// </summary>
public class NetworkingPlannerTests
{
    internal static SecurityRule R(string text) => SecurityRule.Parse(text);

    internal static readonly SecurityGroup[] SampleGroups =
    [
        new("web", "public web", [R("allow tcp 80 from 0.0.0.0/0"), R("allow tcp 443 from 0.0.0.0/0"), R("allow icmp from 203.0.113.0/24")]),
        new("ssh", null, [R("allow tcp 22 from 203.0.113.0/24")]),
        new("db", null, [R("allow tcp 5432 from 198.51.100.0/24"), R("allow udp 5000-5100 from 198.51.100.7/32"),
            R("allow icmp 8 from 0.0.0.0/0"), R("allow all from 127.0.0.1/32")]),
    ];

    internal static FirewallInstance[] SampleInstances =>
    [
        new("web-1", "i-0a1b2c3d", [new("vnet1", "br0"), new("vnet0", "virbr1", IPAddress.Parse("198.51.100.10"))], ["web", "ssh"]),
        new("db-1", "i-00ff00ff", [new("vnet2", "virbr1", IPAddress.Parse("198.51.100.11"))], ["db", "ssh", "db", "gone"]),
        new("stopped", "i-99999999", [], ["web"]),
    ];

    static readonly Dictionary<string, Func<FirewallPlan>> Cases = new()
    {
        ["two-instances"] = () => FirewallPlanner.Plan(SampleInstances, SampleGroups),
        ["no-instances"] = () => FirewallPlanner.Plan([], SampleGroups),
        ["no-groups"] = () => FirewallPlanner.Plan([new("lonely", "i-1", [new("vnet9")], [])], []),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory, MemberData(nameof(CaseNames))]
    public void PlanMatchesGoldenFile(string name)
    {
        var text = Cases[name]().ToString();
        var path = Path.Combine(UnitDir, "Golden", "Networking", name + ".rules");
        if (Environment.GetEnvironmentVariable("VF_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with VF_UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), text);
    }

    [Fact]
    public void PlanIsTheSameWhateverTheInputOrder()
    {
        var expected = FirewallPlanner.Plan(SampleInstances, SampleGroups).ToString();
        var shuffled = SampleInstances.Reverse().Select(i => i with { Nics = i.Nics.Reverse().ToList(), Groups = i.Groups.Reverse().ToList() });
        Assert.Equal(expected, FirewallPlanner.Plan(shuffled, SampleGroups.Reverse()).ToString());
        Assert.Equal(expected, FirewallPlanner.Plan(SampleInstances, SampleGroups).ToString());
    }

    [Fact]
    public void LayoutIsAsDocumented()
    {
        var plan = FirewallPlanner.Plan(SampleInstances, SampleGroups);
        Assert.Equal(["VF-FORWARD", "VF-I-i-00ff00ff", "VF-I-i-0a1b2c3d", "VF-I-i-99999999"], plan.Chains);
        Assert.True(plan.InstallsJump);
        Assert.All(plan.Chains, c => Assert.True(c.Length <= 28));
        foreach (var chain in plan.Chains.Skip(1))
        {
            var rules = plan.Rules.Where(r => r.StartsWith($"-A {chain} ")).ToList();
            Assert.Equal($"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN", rules[0]);
            Assert.EndsWith("default deny\" -j DROP", rules[^1]);
            Assert.All(rules[1..^1], r => Assert.EndsWith(" -j RETURN", r));
        }
        Assert.Contains("-A VF-I-i-0a1b2c3d -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -m comment --comment \"vf:web-1 ssh allow tcp 22 from 203.0.113.0/24\" -j RETURN", plan.Rules);
        Assert.Contains("-A VF-FORWARD -d 198.51.100.10/32 -o virbr1 -m physdev ! --physdev-is-bridged -m comment --comment \"vf:web-1 vnet0 routed\" -j VF-I-i-0a1b2c3d", plan.Rules);
        Assert.Single(plan.Rules, r => r.Contains("--physdev-out vnet1 "));
        Assert.DoesNotContain(plan.Rules, r => r.Contains("-o br0"));
        Assert.Equal(["db-1: security group 'gone' does not exist; it allows nothing."], plan.Warnings);
    }

    [Fact]
    public void NonePlanHasNothing()
    {
        Assert.Empty(FirewallPlan.None.Lines);
        Assert.False(FirewallPlan.None.InstallsJump);
        Assert.Equal("", FirewallPlan.None.RestoreBody);
    }

    public static TheoryData<FirewallInstance, string> HostileInstances => new()
    {
        { new("a;touch /tmp/x", "i-1", [new("vnet0")], []), "InvalidInstanceName" },
        { new("web\" -j ACCEPT", "i-1", [new("vnet0")], []), "InvalidInstanceName" },
        { new("web", "i-1 -j ACCEPT", [new("vnet0")], []), "InvalidInstanceId" },
        { new("web", "i-123456789012345678901234", [new("vnet0")], []), "InvalidInstanceId" },
        { new("web", "-i-1", [new("vnet0")], []), "InvalidInstanceId" },
        { new("web", "i-1", [new("vnet0 -j ACCEPT")], []), "InvalidTapDevice" },
        { new("web", "i-1", [new("vnet0\n-A FORWARD -j ACCEPT")], []), "InvalidTapDevice" },
        { new("web", "i-1", [new("-vnet0")], []), "InvalidTapDevice" },
        { new("web", "i-1", [new("vnet0", "br0\"", IPAddress.Parse("198.51.100.1"))], []), "InvalidBridgeName" },
        { new("web", "i-1", [new("vnet0", "br0", IPAddress.Parse("2001:db8::1"))], []), "InvalidGuestAddress" },
        { new("web", "i-1", [new("vnet0")], ["$(id)"]), "InvalidSecurityGroupName" },
        { new("web", "i-1", [new("vnet0"), new("vnet0")], []), "DuplicateTapDevice" },
    };

    [Theory, MemberData(nameof(HostileInstances))]
    public void HostileInputIsRefused(FirewallInstance instance, string errorId)
    {
        var e = Assert.Throws<VfException>(() => FirewallPlanner.Plan([instance], []));
        Assert.Equal((errorId, FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
    }

    [Fact]
    public void DuplicatesAcrossInstancesAndGroupsAreRefused()
    {
        Assert.Equal("DuplicateInstanceId", Assert.Throws<VfException>(() => FirewallPlanner.Plan(
            [new("a", "i-1", [], []), new("b", "i-1", [], [])], [])).ErrorId);
        Assert.Equal("DuplicateTapDevice", Assert.Throws<VfException>(() => FirewallPlanner.Plan(
            [new("a", "i-1", [new("vnet0")], []), new("b", "i-2", [new("vnet0")], [])], [])).ErrorId);
        Assert.Equal("DuplicateSecurityGroup", Assert.Throws<VfException>(() => FirewallPlanner.Plan([], [SampleGroups[0], SampleGroups[0]])).ErrorId);
    }

    [Theory]
    [InlineData("vf-web_1", "vf-web_1")]
    [InlineData("vf:web-1 web allow tcp 22 from 0.0.0.0/0", "\"vf:web-1 web allow tcp 22 from 0.0.0.0/0\"")]
    [InlineData("", "\"\"")]
    [InlineData("a\"b", "\"a\\\"b\"")]
    [InlineData("a\\b", "\"a\\\\b\"")]
    [InlineData("it's", "\"it\\'s\"")]
    [InlineData("$(id) `id` ; -j ACCEPT # x", "\"$(id) `id` ; -j ACCEPT # x\"")]
    public void CommentsAreQuotedAsIptablesSavePrintsThem(string value, string quoted) => Assert.Equal(quoted, IptablesText.Quote(value));

    [Theory]
    [InlineData("a\nb")]
    [InlineData("a\rb")]
    [InlineData("a\0b")]
    [InlineData("tab\there")]
    public void CommentsRefuseControlCharacters(string value) =>
        Assert.Equal("InvalidIptablesText", Assert.Throws<VfException>(() => IptablesText.Quote(value)).ErrorId);

    [Fact]
    public void CommentsAreAtMost255Bytes()
    {
        Assert.Equal(255, IptablesText.Quote(new string('x', 255)).Length);
        Assert.Throws<VfException>(() => IptablesText.Quote(new string('x', 256)));
        Assert.Throws<VfException>(() => IptablesText.Quote(new string('é', 128)));
    }

    [Fact]
    public void LongestNamesStillFitAComment()
    {
        var name = new string('n', 63);
        var group = new SecurityGroup(new string('g', 63), null, [R("allow udp 65534-65535 from 255.255.255.255/32")]);
        var plan = FirewallPlanner.Plan([new(name, new string('i', 23), [new(new string('t', 15), new string('b', 15), IPAddress.Parse("255.255.255.254"))], [group.Name])], [group]);
        Assert.Equal(28, plan.Chains[1].Length);
    }

    [Fact]
    public void FromDomainTakesTapsBridgesAddressesAndGroups()
    {
        var domain = DomainInfo.Parse("""
            <domain type='kvm' id='3'>
              <name>web-1</name>
              <metadata><vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'><vf:id>i-0a1b2c3d</vf:id>
                <vf:securityGroups><vf:group>web</vf:group><vf:group>ssh</vf:group></vf:securityGroups></vf:instance></metadata>
              <devices>
                <interface type='network'><mac address='52:54:00:AA:BB:01'/><source network='default' bridge='virbr0'/><target dev='vnet3'/></interface>
                <interface type='bridge'><mac address='52:54:00:aa:bb:02'/><source bridge='br0'/><target dev='vnet4'/></interface>
                <interface type='direct'><mac address='52:54:00:aa:bb:03'/><source dev='eth0' mode='bridge'/><target dev='macvtap0'/></interface>
                <interface type='network'><mac address='52:54:00:aa:bb:04'/><source network='default'/></interface>
              </devices>
            </domain>
            """);
        var fi = FirewallInstance.FromDomain(domain, new Dictionary<string, string> { ["default"] = "virbr0" },
            new Dictionary<string, IPAddress> { ["52:54:00:aa:bb:01"] = IPAddress.Parse("198.51.100.20") })!;
        Assert.Equal(("web-1", "i-0a1b2c3d"), (fi.Name, fi.InstanceId));
        Assert.Equal(["web", "ssh"], fi.Groups);
        Assert.Equal([new FirewallNic("vnet3", "virbr0", IPAddress.Parse("198.51.100.20")), new FirewallNic("vnet4", "br0")], fi.Nics);
        Assert.Null(FirewallInstance.FromDomain(DomainInfo.Parse("<domain type='kvm'><name>x</name></domain>"),
            new Dictionary<string, string>(), new Dictionary<string, IPAddress>()));
    }
}

/// <summary>Comparing a plan with what iptables-save reports.</summary>
public class NetworkingStatusTests
{
    static readonly FirewallPlan Plan = FirewallPlanner.Plan(NetworkingPlannerTests.SampleInstances, NetworkingPlannerTests.SampleGroups);

    // What iptables-save prints for a host where the plan is applied among libvirt's and an admin's rules.
    static List<string> Save(FirewallPlan plan, bool jumpFirst = true)
    {
        var lines = new List<string> { "# Generated by iptables-save", "*filter", ":INPUT ACCEPT [10:200]", ":FORWARD DROP [3:4]", ":OUTPUT ACCEPT [0:0]", ":LIBVIRT_FWI - [0:0]" };
        lines.AddRange(plan.Chains.Select(c => $":{c} - [7:99]"));
        var forward = new List<string> { "-A FORWARD -j LIBVIRT_FWI", "-A FORWARD -s 203.0.113.0/24 -j DROP" };
        if (plan.InstallsJump) forward.Insert(jumpFirst ? 0 : 1, IptablesText.Jump);
        lines.AddRange(forward);
        lines.Add("-A LIBVIRT_FWI -o virbr0 -j REJECT --reject-with icmp-port-unreachable");
        lines.AddRange(plan.Rules);
        lines.AddRange(["COMMIT", "# Completed"]);
        return lines;
    }

    static FirewallStatus Compare(FirewallPlan plan, IEnumerable<string> save) => FirewallStatus.Compare(plan, string.Join('\n', save) + "\n");

    [Fact]
    public void AnAppliedPlanIsInSync()
    {
        var s = Compare(Plan, Save(Plan));
        Assert.True(s.InSync, string.Join("\n", s.Problems));
        Assert.True(Compare(FirewallPlan.None, Save(FirewallPlan.None)).InSync);
    }

    [Fact]
    public void AMissingRuleOrChainIsReported()
    {
        var save = Save(Plan);
        save.Remove(Plan.Rules[5]);
        save.Remove(":VF-I-i-99999999 - [7:99]");
        var s = Compare(Plan, save);
        Assert.False(s.InSync);
        Assert.Equal([":VF-I-i-99999999 - [0:0]", Plan.Rules[5]], s.Missing);
        Assert.Empty(s.Unexpected);
    }

    [Fact]
    public void ForeignEditsInOurChainsAreReported()
    {
        var save = Save(Plan);
        save.Insert(save.IndexOf("COMMIT"), "-A VF-I-i-0a1b2c3d -j RETURN");
        save.Insert(save.IndexOf("COMMIT"), ":VF-I-gone - [0:0]");
        var s = Compare(Plan, save);
        Assert.Equal([":VF-I-gone - [0:0]", "-A VF-I-i-0a1b2c3d -j RETURN"], s.Unexpected);
        Assert.Contains("unexpected: -A VF-I-i-0a1b2c3d -j RETURN", s.Problems);
    }

    [Fact]
    public void ReorderedRulesAreReported()
    {
        var save = Save(Plan);
        var deny = save.Last(l => l.StartsWith("-A VF-I-i-0a1b2c3d"));
        save.Remove(deny);
        save.Insert(save.FindIndex(l => l.StartsWith("-A VF-I-i-0a1b2c3d")), deny);
        var s = Compare(Plan, save);
        Assert.True(s.Reordered);
        Assert.False(s.InSync);
    }

    [Fact]
    public void TheJumpMustBeFirstAndSingle()
    {
        var late = Compare(Plan, Save(Plan, jumpFirst: false));
        Assert.False(late.InSync);
        Assert.Equal((1, false), (late.Jumps, late.JumpFirst));
        Assert.Contains("the jump to VF-FORWARD is not the first rule of FORWARD", late.Problems);

        var twice = Save(Plan);
        twice.Insert(twice.IndexOf("-A FORWARD -s 203.0.113.0/24 -j DROP") + 1, IptablesText.Jump);
        Assert.Contains("FORWARD jumps to VF-FORWARD 2 times", Compare(Plan, twice).Problems);

        var none = Save(Plan);
        none.Remove(IptablesText.Jump);
        Assert.Contains("FORWARD does not jump to VF-FORWARD", Compare(Plan, none).Problems);
    }

    [Theory]
    [InlineData("1", 0)]
    [InlineData("0", 1)]
    [InlineData("absent", 1)]
    [InlineData(null, 0)]
    public void BridgedTrafficNotReachingIptablesIsAWarningNotDrift(string? setting, int warnings)
    {
        var save = Save(Plan);
        if (setting is not null) save.Add($"@@VF-BRIDGE-NF@@ {setting}");
        var s = Compare(Plan, save);
        Assert.Equal(warnings, s.Warnings.Count);
        Assert.True(s.InSync);
    }

    [Fact]
    public void LeftoversAreReportedAgainstTheNonePlan()
    {
        var s = Compare(FirewallPlan.None, Save(Plan));
        Assert.False(s.InSync);
        Assert.Equal(IptablesText.Ours(Plan.Lines), s.Unexpected);
        Assert.Contains("FORWARD jumps to VF-FORWARD 1 times", s.Problems);
    }
}
