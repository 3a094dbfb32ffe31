using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Playbooks;
using Xunit;

namespace VirtFleet.Tests;

public class PlaybookValidationTests
{
    private static string Example(string name) => Path.Combine(PowerShellHost.RepoRoot, "playbooks", name);

    private static IReadOnlyList<PlaybookError> Errors(string yaml, string? environment = null) =>
        PlaybookValidator.Validate(yaml, "test.yml", environment);

    private static PlaybookError Single(string yaml, string errorId)
    {
        var errors = Errors(yaml);
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        Assert.Equal(errorId, errors[0].ErrorId);
        return errors[0];
    }

    private const string Base = """
        name: t
        images:
          - name: vflinux
        networks:
          - name: vflab
        keypairs:
          - name: k
            generate: true
        securityGroups:
          - name: web
            rules: [allow tcp 80 from 0.0.0.0/0]
        """;

    [Theory]
    [InlineData("windows-lab.yml")]
    [InlineData("web-tier.yml")]
    [InlineData("nightly-suspend.yml")]
    [InlineData("morning-resume.yml")]
    [InlineData("cleanup.yml")]
    public void ExamplesValidateAndLoad(string file)
    {
        Assert.Empty(PlaybookValidator.ValidateFile(Example(file)));
        var pb = PlaybookLoader.Load(Example(file));
        Assert.Equal(Path.GetFullPath(Example(file)), pb.Path);
        Assert.NotEmpty(pb.Name);
    }

    [Fact]
    public void FormatExampleInTheDocsValidates()
    {
        var doc = File.ReadAllText(Path.Combine(PowerShellHost.RepoRoot, "docs", "playbooks.md"));
        var start = doc.IndexOf("```yaml\n", doc.IndexOf("## Format", StringComparison.Ordinal), StringComparison.Ordinal) + 8;
        var yaml = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Empty(PlaybookValidator.Validate(yaml, "docs.yml"));
        Assert.Empty(PlaybookValidator.Validate(yaml, "docs.yml", "prod"));
        Assert.Equal(3, PlaybookLoader.Parse(yaml, "docs.yml").Networks.Count);
    }

    [Fact]
    public void WindowsLabReadsIntoTheModel()
    {
        var pb = PlaybookLoader.Load(Example("windows-lab.yml"));
        Assert.Equal(["win-1", "win-2", "win-3", "lx-1", "lx-2"], pb.InstanceNames);
        Assert.Equal("/var/cache/virtfleet/guests/win2008", pb.Images.Single(i => i.Name == "win2008").Path);
        Assert.Equal(["allow tcp 3389 from 0.0.0.0/0", "allow tcp 22 from 0.0.0.0/0", "allow icmp from 198.51.100.0/24"],
            pb.SecurityGroups.Single().Rules.Select(r => r.ToString()));
        var lx = pb.Instances[1];
        Assert.Equal(("vflinux", "t1.micro", "vflab", "labkey", PlacementStrategy.RoundRobin), (lx.Image, lx.Type, lx.Network, lx.KeyPair, lx.Placement));
        Assert.Equal(["lab-access"], lx.Groups);
        Assert.Equal(new NetworkSpec("vflab", null, null, null, false), pb.Networks.Single());
        Assert.True(pb.KeyPairs.Single().Generate);
        Assert.Equal("playbook:windows-lab", pb.OwnerTag);
        Assert.Equal("vfh*", pb.Hosts.Single().Name);
    }

    [Fact]
    public void EnvironmentOverridesVariables()
    {
        Assert.Equal(3, PlaybookLoader.Load(Example("windows-lab.yml")).Instances[0].Count);
        var small = PlaybookLoader.Load(Example("windows-lab.yml"), "small");
        Assert.Equal(["win-1", "lx-1", "lx-2"], small.InstanceNames);
        Assert.Equal("small", small.Environment);
        Assert.Equal("1", small.Vars["windowsCount"]);

        var web = PlaybookLoader.Load(Example("web-tier.yml"), "prod");
        Assert.Equal(4, web.Instances[0].Count);
        Assert.Contains("tier=production", web.Instances[0].Tags);
        // $${ is a literal ${ for scripts; ${tier} is substituted.
        Assert.Contains("echo \"${HOSTNAME} serves the production tier\"", web.Instances[0].UserData);
    }

    [Fact]
    public void UnknownKeyIsReportedAtItsPositionWithASuggestion()
    {
        var yaml = Base + """

            instances:
              - name: web-1
                imgae: vflinux
            """;
        var e = Single(yaml, "UnknownKey");
        Assert.Equal(("test.yml", 14, 5), (e.File, e.Line, e.Column));
        Assert.Contains("'imgae'", e.Message);
        Assert.Contains("Did you mean 'image'?", e.Message);
        Assert.Equal("test.yml:14:5: " + e.Message, e.ToString());
    }

    [Fact]
    public void OwnerIsThePlaybooksIdentityAndDefaultsToItsName()
    {
        var named = PlaybookLoader.Parse("name: web\n", "t.yml");
        Assert.Equal(("web", new InstanceOwner("web", "web")), (named.Id, named.Owner));
        var owned = PlaybookLoader.Parse("name: web\nowner: team-b.web\n", "t.yml");
        Assert.Equal(("team-b.web", new InstanceOwner("web", "team-b.web")), (owned.Id, owned.Owner));
        var mine = new Instance { Name = "a", IsVirtFleet = true, Owner = new InstanceOwner("web", "team-b.web") };
        Assert.True(owned.Owns(mine));
        Assert.False(named.Owns(mine));
        Assert.False(named.Owns(new Instance { Name = "b", IsVirtFleet = true, Tags = ["playbook:web"] }));
        var e = Single("name: web\nowner: 'a;touch /tmp/x'\n", "InvalidName");
        Assert.Equal((2, 8), (e.Line, e.Column));
    }

    [Fact]
    public void UnknownTopLevelKeyWithoutACloseMatchListsTheKnownKeys()
    {
        var e = Single("name: t\nfrobnicate: 1\n", "UnknownKey");
        Assert.Equal((2, 1), (e.Line, e.Column));
        Assert.Contains("Known keys: name, vars,", e.Message);
        Assert.Contains("Did you mean 'securityGroups'?", Single("name: t\nsecuritygroups: []\n", "UnknownKey").Message);
    }

    [Theory]
    [InlineData("count: many", "'count' is a whole number")]
    [InlineData("count: -1", "'count' is a whole number from 0 to 1000")]
    [InlineData("tags: lab", "'tags' is a list")]
    [InlineData("tags: [[a]]", "Expected a text value in 'tags', found a list")]
    [InlineData("image: {a: 1}", "Expected a text value for 'image', found a mapping")]
    public void WrongTypesAreErrors(string line, string message)
    {
        var yaml = Base + "\ninstances:\n  - namePrefix: web\n    image: vflinux\n    " + line + "\n";
        yaml = line.StartsWith("image:") ? yaml.Replace("    image: vflinux\n", "") : yaml;
        var e = Single(yaml, "WrongType");
        Assert.Contains(message, e.Message);
        Assert.Equal(line.StartsWith("image:") ? 14 : 15, e.Line);
    }

    [Fact]
    public void SectionsOfTheWrongShapeAreErrors()
    {
        Assert.Contains("'instances' is a list", Single("name: t\ninstances: {a: 1}\n", "WrongType").Message);
        Assert.Contains("Each entry of 'images' is a mapping", Single("name: t\nimages: [vflinux]\n", "WrongType").Message);
        Assert.Contains("true or false", Single("name: t\nprune: maybe\n", "WrongType").Message);
        Assert.Equal("WrongType", Assert.Single(Errors("- a\n- b\n")).ErrorId);
    }

    [Fact]
    public void MissingRequiredKeysAreErrors()
    {
        var e = Single("images: []\n", "MissingKey");
        Assert.Equal("The playbook needs 'name'.", e.Message);
        Assert.Equal("An instance needs 'image'.", Single(Base + "\ninstances:\n  - name: a\n", "MissingKey").Message);
        Assert.Equal("An instance needs 'name' or 'namePrefix'.", Single(Base + "\ninstances:\n  - image: vflinux\n", "MissingKey").Message);
        Assert.Contains("needs 'select'", Single("name: t\noperations:\n  - action: stop\n", "MissingKey").Message);
        Assert.Contains("never applies to every instance", Single("name: t\noperations:\n  - action: stop\n    select: {tags: []}\n", "MissingKey").Message);
        Assert.Equal("'name' in the playbook needs a value.", Single("name:\n", "MissingKey").Message);
        Assert.Equal("MissingKey", Assert.Single(Errors("")).ErrorId);
        Assert.Equal("MissingKey", Assert.Single(Errors("# only a comment\n")).ErrorId);
    }

    [Fact]
    public void BadEnumValuesListTheChoices()
    {
        var mode = Single("name: t\nnetworks:\n  - name: n\n    mode: Nta\n    subnet: 203.0.113.0/24\n", "InvalidValue");
        Assert.Equal("'Nta' is not a valid mode: use Bridged, Nat, Isolated. Did you mean 'Nat'?", mode.Message);
        Assert.Equal((4, 11), (mode.Line, mode.Column));
        Assert.Contains("use start, stop, suspend, resume, restart", Single("name: t\noperations:\n  - action: hibernate\n    select: {tags: [a]}\n", "InvalidValue").Message);
        Assert.Equal("InvalidValue", Single("name: t\noperations:\n  - action: remove\n    select: {tags: [a]}\n", "InvalidValue").ErrorId);
        Assert.Contains("Did you mean 'Pack'?", Single(Base + "\ninstances:\n  - {name: a, image: vflinux, placement: Pak}\n", "InvalidValue").Message);
        // Enum values are case-insensitive.
        Assert.Empty(Errors(Base + "\ninstances:\n  - {name: a, image: vflinux, placement: roundrobin}\n"));
        Assert.Contains("No instance type 't1.mirco'", Single(Base + "\ninstances:\n  - {name: a, image: vflinux, type: t1.mirco}\n", "InvalidValue").Message);
    }

    [Fact]
    public void DuplicateNamesAreErrors()
    {
        var e = Single("name: t\nimages:\n  - name: a\n  - name: a\n", "DuplicateName");
        Assert.Equal((4, 11), (e.Line, e.Column));
        var i = Single(Base + "\ninstances:\n  - {name: web-2, image: vflinux}\n  - {namePrefix: web, count: 2, image: vflinux}\n", "DuplicateName");
        Assert.Equal("Instance 'web-2' is listed twice.", i.Message);
        Assert.Equal("DuplicateName", Single("name: t\nsecurityGroups:\n  - {name: g}\n  - {name: g}\n", "DuplicateName").ErrorId);
    }

    [Fact]
    public void UndefinedReferencesAreErrors()
    {
        var yaml = Base + """

            instances:
              - name: a
                image: vflinx
                network: lab
                keypair: kk
                groups: [web, db]
            addresses:
              - address: 203.0.113.10
                instance: b
            """;
        var errors = Errors(yaml);
        Assert.All(errors, e => Assert.Equal("UndefinedReference", e.ErrorId));
        Assert.Equal([
            "The image 'vflinx' is not defined under 'images'. Did you mean 'vflinux'?",
            "The network 'lab' is not defined under 'networks'.",
            "The key pair 'kk' is not defined under 'keypairs'. Did you mean 'k'?",
            "The security group 'db' is not defined under 'securityGroups'.",
            "Address 203.0.113.10: 'b' is not one of the playbook's instances. Did you mean 'a'?",
        ], errors.Select(e => e.Message));
        Assert.Equal((17, 19), (errors[3].Line, errors[3].Column));
    }

    [Theory]
    [InlineData("name: t\ninstances:\n  - {name: 'a;touch /tmp/x', image: x}\nimages: [{name: x}]\n")]
    [InlineData("name: t\ninstances:\n  - {name: -rf, image: x}\nimages: [{name: x}]\n")]
    [InlineData("name: t\ninstances:\n  - {namePrefix: 'a b', count: 2, image: x}\nimages: [{name: x}]\n")]
    [InlineData("name: '$(id)'\n")]
    [InlineData("name: t\nimages: [{name: '../x'}]\n")]
    [InlineData("name: t\nhosts: ['hv1;reboot']\n")]
    [InlineData("name: t\nnetworks: [{name: n, mode: Bridged, bridge: averyveryverylongbridge}]\n")]
    public void NamesAreCheckedAgainstTheAllowlists(string yaml) => Single(yaml, "InvalidName");

    [Fact]
    public void LongPrefixesFailOnTheLongestName()
    {
        var prefix = new string('a', 61);
        Assert.Empty(Errors($"name: t\nimages: [{{name: x}}]\ninstances:\n  - {{namePrefix: {prefix}, count: 9, image: x}}\n"));
        Assert.Contains($"'{prefix}-10' is not allowed", Single($"name: t\nimages: [{{name: x}}]\ninstances:\n  - {{namePrefix: {prefix}, count: 10, image: x}}\n", "InvalidName").Message);
    }

    [Fact]
    public void InstanceShapeRules()
    {
        Assert.Contains("not both", Single(Base + "\ninstances:\n  - {name: a, namePrefix: b, image: vflinux}\n", "InvalidValue").Message);
        Assert.Contains("count needs namePrefix", Single(Base + "\ninstances:\n  - {name: a, count: 2, image: vflinux}\n", "InvalidValue").Message);
        Assert.Contains("mark ownership", Single(Base + "\ninstances:\n  - {name: a, image: vflinux, tags: ['playbook:other']}\n", "InvalidValue").Message);
        Assert.Empty(PlaybookLoader.Parse(Base + "\ninstances:\n  - {namePrefix: w, count: 0, image: vflinux}\n", "t.yml").InstanceNames);
    }

    [Fact]
    public void NetworkRules()
    {
        Assert.Empty(Errors("name: t\nnetworks:\n  - {name: a, mode: Nat, subnet: 203.0.113.0/24, span: true}\n  - {name: b, mode: Bridged, bridge: br0}\n  - {name: c}\n"));
        Assert.Contains("not an IPv4 subnet", Single("name: t\nnetworks: [{name: a, mode: Isolated, subnet: 203.0.113.1/24}]\n", "InvalidValue").Message);
        Assert.Contains("needs 'subnet'", Single("name: t\nnetworks: [{name: a, mode: Nat}]\n", "MissingKey").Message);
        Assert.Contains("needs 'mode'", Single("name: t\nnetworks: [{name: a, subnet: 203.0.113.0/24}]\n", "InvalidValue").Message);
        Assert.Contains("'span' is for Nat and Isolated", Single("name: t\nnetworks: [{name: a, mode: Bridged, bridge: br0, span: true}]\n", "InvalidValue").Message);
    }

    [Fact]
    public void SecurityRulesAreParsedWhereTheyStand()
    {
        var e = Single("name: t\nsecurityGroups:\n  - name: g\n    rules:\n      - allow tcp 22 from 0.0.0.0/0\n      - allow tcp 99999 from 0.0.0.0/0\n", "InvalidValue");
        Assert.Equal((6, 9), (e.Line, e.Column));
        Assert.Contains("Ports are 1-65535", e.Message);
        Assert.Contains("is not a security rule", Single("name: t\nsecurityGroups: [{name: g, rules: [open port 22]}]\n", "InvalidValue").Message);
    }

    [Fact]
    public void AddressRules()
    {
        Assert.Contains("not an IPv4 address", Single("name: t\naddresses: [{address: 203.0.113}]\n", "InvalidValue").Message);
        Assert.Equal("DuplicateName", Single("name: t\naddresses: [{address: 203.0.113.9}, {address: 203.0.113.9}]\n", "DuplicateName").ErrorId);
        Assert.Contains("already has an address", Single(Base + "\ninstances: [{name: a, image: vflinux}]\naddresses: [{address: 203.0.113.9, instance: a}, {address: 203.0.113.10, instance: a}]\n", "DuplicateName").Message);
    }

    [Fact]
    public void GeneratedKeyPairsTakeATypeForWindowsPasswords()
    {
        var pb = PlaybookLoader.Parse("name: t\nkeypairs: [{name: win, generate: true, type: rsa}, {name: lx, generate: true}]\n", "/srv/pb/t.yml");
        Assert.Equal(KeyPairs.KeyType.Rsa, pb.KeyPairs[0].Type);
        Assert.Equal(KeyPairs.KeyType.Ed25519, pb.KeyPairs[1].Type);
        Assert.Contains("generated key pair", Single("name: t\nkeypairs: [{name: k, publicKeyFile: k.pub, type: rsa}]\n", "InvalidValue").Message);
        Assert.Contains("ed25519, rsa", Single("name: t\nkeypairs: [{name: k, generate: true, type: dsa}]\n", "InvalidValue").Message);
    }

    [Fact]
    public void KeyPairsTakeAFileOrGenerateNotBoth()
    {
        Assert.Contains("not both", Single("name: t\nkeypairs: [{name: k, publicKeyFile: k.pub, generate: true}]\n", "InvalidValue").Message);
        var pb = PlaybookLoader.Parse("name: t\nkeypairs: [{name: k, publicKeyFile: keys/k.pub}, {name: h, publicKeyFile: ~/.ssh/id.pub}, {name: e}]\n", "/srv/pb/t.yml");
        Assert.Equal("/srv/pb/keys/k.pub", pb.KeyPairs[0].PublicKeyFile);
        Assert.Equal(Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "/.ssh/id.pub"), pb.KeyPairs[1].PublicKeyFile);
        Assert.Equal(new KeyPairSpec("e", null, false), pb.KeyPairs[2]);
    }

    [Fact]
    public void UndefinedVariablesAreErrorsWithTheirPosition()
    {
        var e = Single("name: t\nvars: {prefix: web}\nimages:\n  - name: ${prefx}-img\n", "UndefinedVariable");
        Assert.Equal((4, 11), (e.Line, e.Column));
        Assert.Contains("Undefined variable 'prefx'", e.Message);
        Assert.Contains("Did you mean 'prefix'?", e.Message);
        Assert.Contains("without a closing", Single("name: t\nimages: [{name: '${x'}]\n", "UndefinedVariable").Message);
        Assert.Equal("InvalidName", Single("name: t\nvars: {a-b: 1}\n", "InvalidName").ErrorId);
        Assert.Equal("WrongType", Single("name: t\nvars: {a: [1]}\n", "WrongType").ErrorId);
    }

    [Fact]
    public void VariablesSubstituteInsideValuesAndBeforeTypeChecks()
    {
        // In flow collections ([...], {...}) a value with ${...} is quoted: '}' would end the mapping.
        var pb = PlaybookLoader.Parse("name: ${n}\nvars: {n: demo, c: 3, yes: 'true'}\nprune: ${yes}\nimages: [{name: 'img-${n}'}]\n" +
                                      "instances:\n  - namePrefix: ${n}\n    count: ${c}\n    image: img-${n}\n", "t.yml");
        Assert.Equal(("demo", true, "img-demo"), (pb.Name, pb.Prune, pb.Images[0].Name));
        Assert.Equal(["demo-1", "demo-2", "demo-3"], pb.InstanceNames);
        Assert.Contains("not 'x3'", Single("name: t\nvars: {c: x3}\nimages: [{name: i}]\ninstances: [{namePrefix: a, count: '${c}', image: i}]\n", "WrongType").Message);
    }

    [Fact]
    public void EnvironmentsAreCheckedEachAndByName()
    {
        const string yaml = "name: t\nvars: {c: 1}\nenvironments:\n  prod: {vars: {c: 4}}\n  bad: {vars: {c: lots}}\n" +
                            "images: [{name: i}]\ninstances: [{namePrefix: a, count: '${c}', image: i}]\n";
        Assert.Empty(Errors(yaml, "prod"));
        var e = Assert.Single(Errors(yaml));
        Assert.StartsWith("With environment 'bad': 'count' is a whole number", e.Message);
        Assert.Equal(7, e.Line);

        Assert.Equal("UnknownEnvironment", Assert.Single(Errors(yaml.Replace("  bad: {vars: {c: lots}}\n", ""), "prd")).ErrorId);
        Assert.Contains("Did you mean 'prod'?", Assert.Single(Errors(yaml.Replace("  bad: {vars: {c: lots}}\n", ""), "prd")).Message);

        var notDefault = Single("name: t\nvars: {a: 1}\nenvironments:\n  prod: {vars: {b: 2}}\n", "UndefinedVariable");
        Assert.Contains("sets 'b', which 'vars' does not define", notDefault.Message);
        Assert.Equal("UnknownKey", Single("name: t\nenvironments:\n  prod: {varz: {}}\n", "UnknownKey").ErrorId);
    }

    [Fact]
    public void YamlSyntaxErrorsHaveAPosition()
    {
        var e = Assert.Single(Errors("name: t\nimages:\n  - name: 'unterminated\n"));
        Assert.Equal("YamlSyntax", e.ErrorId);
        Assert.True(e.Line >= 3, e.ToString());
        Assert.Equal("YamlSyntax", Assert.Single(Errors("name: a\nname: b\n")).ErrorId);
        Assert.Equal("YamlSyntax", Assert.Single(Errors("a: [1\nb: 2\n")).ErrorId);
    }

    [Fact]
    public void LoaderThrowsOneExceptionWithEveryError()
    {
        var ex = Assert.Throws<PlaybookException>(() => PlaybookLoader.Parse("name: t\nimgaes: []\ninstances: [{name: a, image: b}]\n", "bad.yml"));
        Assert.Equal(("PlaybookInvalid", FailureKind.InvalidData, "bad.yml"), (ex.ErrorId, ex.Kind, ex.Target));
        Assert.Equal(["UnknownKey", "UndefinedReference"], ex.Errors.Select(e => e.ErrorId));
        Assert.Contains("bad.yml:2:1: Unknown key 'imgaes'", ex.Message);
        Assert.IsAssignableFrom<VfException>(ex);
        Assert.Equal("PlaybookNotFound", Assert.Throws<VfException>(() => PlaybookLoader.Load("/nonexistent/x.yml")).ErrorId);
    }

    [Fact]
    public void HostSelectionByNameWildcardAndTag()
    {
        HostEntry H(string name, params string[] tags) => new() { Name = name, Address = "198.51.100.1", Tags = [.. tags] };
        var inventory = new[] { H("vfh1", "lab"), H("vfh2"), H("db1", "lab") };
        Assert.Equal(["vfh1", "vfh2", "db1"], PlaybookLoader.Parse("name: t\n", "t.yml").SelectHosts(inventory).Select(h => h.Name));
        var pb = PlaybookLoader.Parse("name: t\nhosts: [vfh2, 'tag:lab']\n", "t.yml");
        Assert.Equal(["vfh1", "vfh2", "db1"], pb.SelectHosts(inventory).Select(h => h.Name));
        Assert.Equal(["vfh1", "vfh2"], PlaybookLoader.Parse("name: t\nhosts: ['vfh*']\n", "t.yml").SelectHosts(inventory).Select(h => h.Name));
        var ex = Assert.Throws<VfException>(() => PlaybookLoader.Parse("name: t\nhosts: [vfh9]\n", "t.yml").SelectHosts(inventory));
        Assert.Equal(("HostNotFound", FailureKind.ObjectNotFound), (ex.ErrorId, ex.Kind));
    }

    [Fact]
    public void SelectionsNeedEveryCriterion()
    {
        var s = new Selection(["lab", "linux"], ["lx-*"], "vflinux");
        Assert.True(s.Matches("lx-1", ["Lab", "linux", "other"], "vflinux"));
        Assert.False(s.Matches("lx-1", ["lab"], "vflinux"));
        Assert.False(s.Matches("win-1", ["lab", "linux"], "vflinux"));
        Assert.False(s.Matches("lx-1", ["lab", "linux"], "win2008"));
    }

    [Theory]
    [InlineData("imgae", "image")]
    [InlineData("namprefix", "namePrefix")]
    [InlineData("Groups", "groups")]
    [InlineData("zzzzzz", null)]
    public void SpellingSuggestions(string typo, string? expected) =>
        Assert.Equal(expected, Spelling.Suggest(typo, ["name", "namePrefix", "image", "groups", "type"]));
    // ---- bounds (issue 13, defect 20): a small file must not take unbounded time or memory ----

    [Fact]
    public void PlaybookLargerThanTheInputLimitIsRejected()
    {
        var yaml = "name: t\nvars:\n  big: '" + new string('x', PlaybookReader.MaxInputChars) + "'\n";
        var e = Single(yaml, "LimitExceeded");
        Assert.Equal((1, 1), (e.Line, e.Column));
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void DeeplyNestedYamlIsRejectedAtItsPositionWithoutBuildingTheTree()
    {
        // 100 000 levels would overflow the stack of a recursive tree builder.
        var yaml = "name: t\nvars:\n  x: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var e = Single(yaml, "LimitExceeded");
        Assert.Equal(3, e.Line);
        Assert.Equal(4 + PlaybookReader.MaxDepth, e.Column); // "  x: " then the 31st '[', at level 33 (root mapping 1, vars 2)
        Assert.Contains("nest", e.Message);
    }

    [Fact]
    public void QuadraticVariableExpansionIsBoundedWithItsPosition()
    {
        // 40 KiB of text: a 20 KiB variable used 5 000 times would expand to 100 MB.
        var yaml = "name: t\nvars:\n  v: '" + new string('x', 20_000) + "'\nimages:\n  - name: i\ninstances:\n  - name: a\n    image: i\n" +
                   "    userData: '" + string.Concat(Enumerable.Repeat("${v}", 5_000)) + "'\n";
        Assert.True(yaml.Length < 50_000);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Single(yaml, "LimitExceeded");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), sw.Elapsed.ToString());
        Assert.Equal((9, 15), (e.Line, e.Column));
        Assert.Contains("substituted", e.Message);
    }

    [Fact]
    public void ManyValuesThatEachExpandBelowTheValueLimitAreBoundedTogether()
    {
        // Each tag stays under the value limit; together they pass the limit for the whole playbook.
        var v = new string('x', 100);
        var one = string.Concat(Enumerable.Repeat("${v}", 1000)); // 100 000 characters, under 256 KiB
        var yaml = $"name: t\nvars:\n  v: {v}\nhosts:\n" + string.Concat(Enumerable.Repeat($"  - \"{one}\"\n", 50));
        var errors = Errors(yaml);
        Assert.Contains(errors, e => e.ErrorId == "LimitExceeded" && e.Message.Contains("in all"));
    }

    [Fact]
    public void TooManyEnvironmentsAreRejectedAtTheirKey()
    {
        var yaml = "name: t\nvars:\n  a: '1'\nenvironments:\n" +
                   string.Concat(Enumerable.Range(0, PlaybookReader.MaxEnvironments + 1).Select(i => $"  e{i}:\n    vars:\n      a: '2'\n"));
        var e = Single(yaml, "LimitExceeded");
        Assert.Equal(5, e.Line);
    }
}
