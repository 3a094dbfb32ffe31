using System.Net;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests;

public class NetworkingRuleTests
{
    [Theory]
    [InlineData("allow tcp 22 from 0.0.0.0/0")]
    [InlineData("allow icmp from 203.0.113.0/24")]
    [InlineData("allow icmp 8 from 203.0.113.0/24")]
    [InlineData("allow icmp 0 from 127.0.0.1/32")]
    [InlineData("allow udp 5000-5100 from 198.51.100.7/32")]
    [InlineData("allow tcp 1-65535 from 198.51.100.0/25")]
    [InlineData("allow all from 198.51.100.0/24")]
    public void CompactFormRoundTrips(string text)
    {
        var rule = SecurityRule.Parse(text);
        Assert.Equal(text, rule.ToString());
        Assert.Equal(rule, SecurityRule.Parse(rule.ToString()));
    }

    [Theory]
    [InlineData("ALLOW  TCP\t22 FROM 0.0.0.0/0", "allow tcp 22 from 0.0.0.0/0")]
    [InlineData("allow udp 53-53 from 203.0.113.0/24", "allow udp 53 from 203.0.113.0/24")]
    public void ParsingNormalizes(string text, string printed) => Assert.Equal(printed, SecurityRule.Parse(text).ToString());

    [Fact]
    public void FieldsAreParsed()
    {
        var r = SecurityRule.Parse("allow udp 5000-5100 from 198.51.100.7/32");
        Assert.Equal((RuleProtocol.Udp, 5000, 5100, (int?)null), (r.Protocol, r.FromPort, r.ToPort, r.IcmpType));
        Assert.Equal(IPNetwork.Parse("198.51.100.7/32"), r.Source);
        Assert.Equal(8, SecurityRule.Parse("allow icmp 8 from 0.0.0.0/0").IcmpType);
    }

    [Theory]
    [InlineData("", "InvalidSecurityRule")]
    [InlineData("deny tcp 22 from 0.0.0.0/0", "InvalidSecurityRule")]
    [InlineData("allow tcp 22 to 0.0.0.0/0", "InvalidSecurityRule")]
    [InlineData("allow tcp 22 from 0.0.0.0/0 extra", "InvalidSecurityRule")]
    [InlineData("allow sctp 22 from 0.0.0.0/0", "InvalidSecurityRule")]
    [InlineData("allow 1 22 from 0.0.0.0/0", "InvalidSecurityRule")]
    [InlineData("allow tcp 22 from 0.0.0.0/0\n-A FORWARD -j ACCEPT", "InvalidSecurityRule")]
    [InlineData("allow tcp from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 0 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 65536 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 100-99 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 022 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp +22 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 22,80 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 1-2-3 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow tcp 22;id from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow all 22 from 0.0.0.0/0", "InvalidRulePort")]
    [InlineData("allow icmp 255 from 0.0.0.0/0", "InvalidIcmpType")]
    [InlineData("allow icmp echo from 0.0.0.0/0", "InvalidIcmpType")]
    [InlineData("allow tcp 22 from 203.0.113.9/24", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from 203.0.113.9", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from 203.0.113.0/33", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from 0xcb.0.113.0/24", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from 203.000.113.0/24", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from 2001:db8::/32", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from ::ffff:203.0.113.0/120", "InvalidRuleSource")]
    [InlineData("allow tcp 22 from $(id)", "InvalidRuleSource")]
    public void BadRulesAreRefusedWithSpecificIds(string text, string errorId)
    {
        var e = Assert.Throws<VfException>(() => SecurityRule.Parse(text));
        Assert.Equal((errorId, FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.False(SecurityRule.TryParse(text, out _));
    }

    [Fact]
    public void ConstructorValidatesToo()
    {
        var any = IPNetwork.Parse("0.0.0.0/0");
        Assert.Equal("InvalidRuleSource", Assert.Throws<VfException>(() => new SecurityRule(RuleProtocol.Tcp, IPNetwork.Parse("2001:db8::/32"), 22)).ErrorId);
        Assert.Equal("InvalidRulePort", Assert.Throws<VfException>(() => new SecurityRule(RuleProtocol.Icmp, any, 22)).ErrorId);
        Assert.Equal("InvalidIcmpType", Assert.Throws<VfException>(() => new SecurityRule(RuleProtocol.Tcp, any, 22, icmpType: 8)).ErrorId);
        Assert.Equal("allow tcp 443 from 0.0.0.0/0", new SecurityRule(RuleProtocol.Tcp, any, 443).ToString());
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("web\"")]
    [InlineData("-web")]
    [InlineData(".web")]
    [InlineData("web\nx")]
    [InlineData("")]
    public void GroupNamesFollowTheInstanceNameAllowlist(string name)
    {
        var e = Assert.Throws<VfException>(() => new SecurityGroup(name));
        Assert.Equal(("InvalidSecurityGroupName", FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
    }

    [Fact]
    public void GroupDescriptionsRefuseControlCharacters()
    {
        Assert.Equal("InvalidSecurityGroupDescription", Assert.Throws<VfException>(() => new SecurityGroup("web", "a\nb")).ErrorId);
        Assert.Equal("InvalidSecurityGroupDescription", Assert.Throws<VfException>(() => new SecurityGroup("web", new string('x', 256))).ErrorId);
        Assert.Equal("quotes \" ' and $(id) are text", new SecurityGroup("web", "quotes \" ' and $(id) are text").Description);
    }

    [Fact]
    public void GroupsDropDuplicateRulesAndKeepOrder()
    {
        var ssh = SecurityRule.Parse("allow tcp 22 from 0.0.0.0/0");
        var web = SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0");
        var g = new SecurityGroup("web", "d", [web, ssh, SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0")]);
        Assert.Equal([web, ssh], g.Rules);
        Assert.Equal([web, ssh], g.With(ssh).Rules);
        Assert.Equal([ssh], g.Without(web).Rules);
        Assert.Equal("d", g.Without(web).Description);
    }
}

public class NetworkingStoreTests
{
    static readonly SecurityGroup Web = new("web", "public \"web\" <tier>",
        [SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0"), SecurityRule.Parse("allow icmp from 203.0.113.0/24")]);
    static readonly SecurityGroup Db = new("db", null, [SecurityRule.Parse("allow tcp 5432 from 198.51.100.0/24")]);

    [Fact]
    public void DocumentRoundTripsSortedByName()
    {
        var json = SecurityGroupStore.ToJson([Web, Db]);
        Assert.Equal(json, SecurityGroupStore.ToJson([Db, Web]));
        Assert.Equal("""
            {
              "version": 1,
              "generation": 0,
              "groups": [
                {
                  "name": "db",
                  "rules": [
                    "allow tcp 5432 from 198.51.100.0/24"
                  ]
                },
                {
                  "name": "web",
                  "description": "public \u0022web\u0022 \u003Ctier\u003E",
                  "rules": [
                    "allow tcp 80 from 0.0.0.0/0",
                    "allow icmp from 203.0.113.0/24"
                  ]
                }
              ]
            }

            """.ReplaceLineEndings("\n"), json);
        var back = SecurityGroupStore.FromJson(json);
        Assert.Equal(["db", "web"], back.Select(g => g.Name));
        Assert.Equal(Web.Description, back[1].Description);
        Assert.Equal(Web.Rules, back[1].Rules);
    }

    [Fact]
    public void AHandWrittenDocumentMayLeaveOutDescriptionAndRules() =>
        Assert.Empty(SecurityGroupStore.FromJson("""{ "version": 1, "groups": [ { "name": "empty" } ] }""").Single().Rules);

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{ "groups": [] }""")]
    [InlineData("""{ "version": 2, "groups": [] }""")]
    [InlineData("""{ "version": 1, "groups": [ { "name": "a;b" } ] }""")]
    [InlineData("""{ "version": 1, "groups": [ { "name": "a", "rules": [ "allow tcp 22 from 203.0.113.9/24" ] } ] }""")]
    [InlineData("""{ "version": 1, "groups": [ { "name": "a", "rules": [ null ] } ] }""")]
    [InlineData("""{ "version": 1, "groups": [ { "name": "a" }, { "name": "a" } ] }""")]
    [InlineData("""{ "version": 1, "groups": [ { "name": "a", "rulez": [] } ] }""")]
    public void ABadDocumentIsInvalidData(string json)
    {
        var e = Assert.Throws<VfException>(() => SecurityGroupStore.FromJson(json, "hv1"));
        Assert.Equal(("InvalidSecurityGroupDocument", FailureKind.InvalidData), (e.ErrorId, e.Kind));
        Assert.StartsWith("hv1: ", e.Message);
    }
}
