using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VirtFleet.CloudInit;
using Xunit;
using YamlDotNet.RepresentationModel;
using T = VirtFleet.Tests.CloudInitTooling;

namespace VirtFleet.Tests;

/// <summary>NoCloudSeed: the meta-data and user-data it writes, read back by YamlDotNet, PyYAML and cloud-init.</summary>
public class CloudInitTests
{
    private const string KeyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOurKeyA admin@fleet";
    private const string KeyB = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQOurKeyB ops@fleet";

    private static readonly string[] HostileValues =
    [
        "a;touch /tmp/x", "$(id)", "`id`", "\"double\" 'single'", "line1\nline2", "cr\r\nlf", ": - # { } [ ] & * ! | > %",
        "- leading dash", "key: value", "#not a comment", "yes", "no", "on", "null", "~", "0644", "1e3", "0x1F", "2001-12-14",
        "&anchor", "*alias", "!!python/object/apply:os.system ['id']", "@at", "...", "---", " leading", "trailing ",
        "tab\there", "back\\slash", "ünïcødé 🚀", "ctl\u0001\u007f", "nul\0byte", "%TAG ! tag:x,2000:",
    ];
    public static readonly TheoryData<string> Hostile = new(HostileValues);

    private static NoCloudSeed Seed(string hostile = "web-1", string? userData = null) => new()
    {
        InstanceId = "i-" + hostile, Hostname = hostile, SshAuthorizedKeys = [KeyA, KeyB], UserData = userData,
    };

    private static YamlMappingNode LoadYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static string Scalar(YamlMappingNode map, string key) => ((YamlScalarNode)map[key]).Value!;

    /// <summary>What PyYAML (cloud-init's YAML reader) makes of a document, as JSON.</summary>
    private static JsonNode? PyYaml(string yaml)
    {
        var r = T.Run(T.Python!, Encoding.UTF8.GetBytes(yaml), "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.buffer.read().decode()), default=repr))");
        Assert.True(r.Exit == 0, r.Err);
        return JsonNode.Parse(r.Text);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileValuesStayLiteralStringsForYamlDotNet(string hostile)
    {
        var seed = Seed(hostile);
        var meta = LoadYaml(seed.MetaData());
        Assert.Equal(new[] { "instance-id", "local-hostname" }, meta.Children.Keys.Select(k => k.ToString()));
        Assert.Equal("i-" + hostile, Scalar(meta, "instance-id"));
        Assert.Equal(hostile, Scalar(meta, "local-hostname"));

        var userData = seed.ComposeUserData();
        Assert.StartsWith("#cloud-config\n", userData);
        var config = LoadYaml(userData);
        Assert.Equal(new[] { "hostname", "ssh_authorized_keys" }, config.Children.Keys.Select(k => k.ToString()));
        Assert.Equal(hostile, Scalar(config, "hostname"));
    }

    [CloudInitFact("py:yaml")]
    public void HostileValuesStayLiteralStringsForPyYaml()
    {
        foreach (var hostile in HostileValues)
        {
            var seed = Seed(hostile);
            var meta = PyYaml(seed.MetaData())!.AsObject();
            Assert.Equal(2, meta.Count);
            Assert.Equal("i-" + hostile, (string?)meta["instance-id"]);
            Assert.Equal(hostile, (string?)meta["local-hostname"]);
            var config = PyYaml(seed.ComposeUserData())!.AsObject();
            Assert.Equal(2, config.Count);
            Assert.Equal(hostile, (string?)config["hostname"]);
            Assert.Equal([KeyA, KeyB], config["ssh_authorized_keys"]!.AsArray().Select(k => (string?)k));
        }
    }

    [Fact]
    public void WithoutUserDataTheUserDataIsOurCloudConfig()
    {
        var userData = Seed().ComposeUserData();
        Assert.Equal($"#cloud-config\nhostname: \"web-1\"\nssh_authorized_keys:\n- \"{KeyA}\"\n- \"{KeyB}\"\n", userData);
    }

    private const string RichCloudConfig = """
        #cloud-config
        # a comment that the merge drops
        package_update: yes
        hostname: chosen-by-user
        write_files:
          - path: /etc/x
            permissions: 0644
            content: |
              line "one"
              $(id); touch /tmp/x
        defaults: &d {a: 1, b: [x, "y"]}
        other: *d
        merged:
          <<: *d
          c: 3
        runcmd:
          - [sh, -c, 'echo $(id) > /tmp/x']
          - "a;touch /tmp/x"
        empty:
        tilde: ~
        when: 2001-12-14
        bits: !!binary aGVsbG8=
        ssh_authorized_keys:
          - ssh-ed25519 AAAAuserKey user@x
          - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQOurKeyB ops@fleet
        """;

    [CloudInitFact("py:yaml")]
    public void CloudConfigUserDataMergesWithTheUsersKeysWinningAndEveryValueKept()
    {
        var merged = Seed(userData: RichCloudConfig).ComposeUserData();
        Assert.StartsWith("#cloud-config\n", merged);

        // PyYAML reads the same document as before, plus our one key; the user's hostname stays.
        var expected = PyYaml(RichCloudConfig)!.AsObject();
        expected["ssh_authorized_keys"] = new JsonArray(KeyA, "ssh-ed25519 AAAAuserKey user@x", KeyB); // KeyB was already there
        var actual = PyYaml(merged)!;
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected.ToJsonString()}\nactual   {actual.ToJsonString()}\n{merged}");
        Assert.Equal("chosen-by-user", (string?)actual["hostname"]);
        Assert.Equal(true, (bool?)actual["package_update"]);
        Assert.Equal(420, (int?)actual["write_files"]![0]!["permissions"]); // 0644 still octal to YAML 1.1
    }

    [Fact]
    public void CloudConfigWithoutOurKeysGetsThem()
    {
        var config = LoadYaml(Seed(userData: "#cloud-config\npackages: [nginx]\n").ComposeUserData());
        Assert.Equal(new[] { "packages", "hostname", "ssh_authorized_keys" }, config.Children.Keys.Select(k => k.ToString()));
        Assert.Equal("web-1", Scalar(config, "hostname"));
        Assert.Equal([KeyA, KeyB], ((YamlSequenceNode)config["ssh_authorized_keys"]).Select(k => k.ToString()));

        var empty = LoadYaml(Seed(userData: "#cloud-config\n# nothing yet\n").ComposeUserData());
        Assert.Equal("web-1", Scalar(empty, "hostname"));
    }

    [Theory]
    [InlineData("#cloud-config\n- a\n- b\n", "UserDataInvalidYaml")]          // not a mapping
    [InlineData("#cloud-config\nruncmd: [unclosed\n", "UserDataInvalidYaml")] // syntax
    [InlineData("#cloud-config\na: 1\na: 2\n", "UserDataInvalidYaml")]         // duplicate key
    [InlineData("#cloud-config\na: 1\n---\nb: 2\n", "UserDataInvalidYaml")]    // two documents
    [InlineData("#cloud-config\nssh_authorized_keys: ssh-rsa AAAA\n", "UserDataInvalidYaml")]
    [InlineData("echo hello\n", "UserDataUnknownFormat")]                      // cloud-init would ignore it
    public void BadUserDataIsRefused(string userData, string errorId)
    {
        var e = Assert.Throws<VfException>(() => Seed(userData: userData).ComposeUserData());
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void AKeyWithANewlineIsRefused()
    {
        var seed = new NoCloudSeed { InstanceId = "i", Hostname = "h", SshAuthorizedKeys = [KeyA + "\ncommand=\"id\" " + KeyB] };
        Assert.Equal("SshKeyInvalid", Assert.Throws<VfException>(seed.ComposeUserData).ErrorId);
        Assert.Equal("SeedValueMissing", Assert.Throws<VfException>(new NoCloudSeed { InstanceId = " ", Hostname = "h" }.MetaData).ErrorId);
    }

    [Theory]
    [InlineData("#!/bin/sh\necho $(id) > /tmp/x\n", "text/x-shellscript")]
    [InlineData("  #!/usr/bin/env python3\r\nprint('hi')\r\n", "text/x-shellscript")]
    [InlineData("#cloud-boothook\n#!/bin/sh\ntrue\n", "text/cloud-boothook")]
    [InlineData("#include\nhttps://example.invalid/a\n", "text/x-include-url")]
    [InlineData("## template: jinja\n#cloud-config\nruncmd: [echo {{ v1.local_hostname }}]\n", "text/jinja2")]
    [InlineData("#Cloud-Config-Archive\n- type: text/x-shellscript\n  content: '#!/bin/sh'\n", "text/cloud-config-archive")]
    public void OtherFormatsArePackedAsMultipartAfterOurCloudConfig(string userData, string type)
    {
        var mime = Seed(userData: userData).ComposeUserData();
        Assert.Equal(mime, Seed(userData: userData).ComposeUserData()); // deterministic boundary
        Assert.Equal("multipart", NoCloudSeed.ContentType(mime));
        if (!T.Has("py:yaml")) return; // below: Python's own MIME parser, the one cloud-init uses
        var parts = PythonMimeParts(mime);
        Assert.Equal(2, parts.Count);
        Assert.Equal("text/cloud-config", parts[0].Type);
        Assert.Equal(Seed().ComposeUserData(), parts[0].Payload);
        Assert.Equal(type, parts[1].Type);
        Assert.Equal(userData, parts[1].Payload);
    }

    [Fact]
    public void AMimeMessageIsNestedVerbatim()
    {
        const string user = "Content-Type: multipart/mixed; boundary=\"XYZ\"\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho one\n--XYZ\nContent-Type: text/cloud-config\n\nruncmd: [two]\n--XYZ--\n";
        var mime = Seed(userData: user).ComposeUserData();
        Assert.Contains(user, mime);
        if (!T.Has("py:yaml")) return;
        var parts = PythonMimeParts(mime);
        Assert.Equal(["text/cloud-config", "text/x-shellscript", "text/cloud-config"], parts.Select(p => p.Type));
        Assert.Equal(["#!/bin/sh\necho one", "runcmd: [two]"], parts.Skip(1).Select(p => p.Payload));
    }

    private static List<(string Type, string Payload)> PythonMimeParts(string mime)
    {
        var r = T.Run(T.Python!, Encoding.UTF8.GetBytes(mime), "-c", """
            import sys, json, email
            msg = email.message_from_bytes(sys.stdin.buffer.read())
            print(json.dumps([[p.get_content_type(), p.get_payload(decode=True).decode()] for p in msg.walk() if not p.is_multipart()]))
            """);
        Assert.True(r.Exit == 0, r.Err);
        return JsonNode.Parse(r.Text)!.AsArray().Select(p => ((string)p![0]!, (string)p[1]!)).ToList();
    }

    [Fact]
    public void NetworkConfigIsWrittenAsGivenAndMustBeAMapping()
    {
        const string net = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n";
        var files = new NoCloudSeed { InstanceId = "i", Hostname = "h", NetworkConfig = net }.Files();
        Assert.Equal(["meta-data", "user-data", "network-config"], files.Select(f => f.Name));
        Assert.Equal(net, Encoding.UTF8.GetString(files[2].Content));
        var bad = new NoCloudSeed { InstanceId = "i", Hostname = "h", NetworkConfig = "- eth0" };
        Assert.Equal("NetworkConfigInvalid", Assert.Throws<VfException>(bad.Files).ErrorId);
    }

    /// <summary>The whole path a Linux guest takes: the ISO read by libarchive, then cloud-init's own
    /// NoCloud datasource and user-data processor (loop-mounting is tested separately where possible).</summary>
    [CloudInitFact("bsdtar", "py:cloudinit")]
    public void CloudInitsNoCloudDatasourceReadsTheSeed()
    {
        var seed = Seed(hostile: "web-1", userData: "#!/bin/sh\necho $(id) > /tmp/x\n");
        using var dir = new T.TempDir();
        var nocloud = Directory.CreateDirectory(Path.Combine(dir.Path, "seed", "nocloud")).FullName;
        File.WriteAllBytes(dir["seed.iso"], seed.ToIso());
        T.Ok("bsdtar", "-xf", dir["seed.iso"], "-C", nocloud);

        var r = T.Run(T.Python!, null, "-c", """
            import sys, json
            from cloudinit import helpers
            from cloudinit.sources.DataSourceNoCloud import DataSourceNoCloud
            paths = helpers.Paths({"cloud_dir": sys.argv[1], "run_dir": sys.argv[1]})
            ds = DataSourceNoCloud({"datasource": {"NoCloud": {"fs_label": None}}}, None, paths)
            assert ds.get_data(), "NoCloud found no seed"
            parts = [[p.get_content_type(), p.get_payload(decode=True).decode()] for p in ds.get_userdata().walk() if not p.is_multipart()]
            print(json.dumps({"meta": ds.metadata, "parts": parts}))
            """, dir.Path);
        Assert.True(r.Exit == 0, r.Err);
        var result = JsonNode.Parse(r.Text)!;
        Assert.Equal("i-web-1", (string?)result["meta"]!["instance-id"]);
        Assert.Equal("web-1", (string?)result["meta"]!["local-hostname"]);
        var parts = result["parts"]!.AsArray();
        Assert.Equal(["text/cloud-config", "text/x-shellscript"], parts.Select(p => (string?)p![0]));
        Assert.Equal("#!/bin/sh\necho $(id) > /tmp/x\n", (string?)parts[1]![1]);
    }
}
