using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace VirtFleet.CloudInit;

/// <summary>
/// The NoCloud seed of one instance: the files <c>meta-data</c>, <c>user-data</c> and optionally
/// <c>network-config</c> on an ISO9660 volume labelled <c>cidata</c>, read at first boot by
/// cloud-init (Linux, BSD). Windows instances get a <see cref="ConfigDriveSeed"/> instead.
/// <para>All YAML is built as a YamlDotNet node tree and emitted by YamlDotNet; the values we
/// add are double-quoted scalars, so quotes, newlines, <c>$(id)</c> or YAML syntax in them stay
/// literal strings for any YAML 1.1/1.2 reader (cloud-init uses PyYAML).</para>
/// <para>User data, for Linux guests:</para>
/// <list type="bullet">
/// <item>none: user-data is our <c>#cloud-config</c> (hostname, ssh_authorized_keys);</item>
/// <item><c>#cloud-config</c>: merged into one document. The user's keys win: <c>hostname</c> is
/// added only when the user set none; our keys missing from the user's <c>ssh_authorized_keys</c>
/// are put before theirs. Every other key is kept as written (values, tags, quoting); comments are
/// not. (cloud-init's own merging of two cloud-config parts would replace lists, losing keys.)</item>
/// <item>any other format cloud-init recognises by its first line (<c>#!</c> scripts,
/// <c>#include</c>, <c>#cloud-boothook</c>, <c>## template: jinja</c>, ...): a multipart/mixed
/// message with our cloud-config first and the user's part after it, typed as cloud-init would;</item>
/// <item>a MIME message (has <c>MIME-Version:</c>): nested verbatim after our cloud-config part.
/// Cloud-config that a user part yields (MIME, jinja) merges with ours by cloud-init's default rule:
/// later parts win and lists are replaced, not joined;</item>
/// <item>anything else is refused, since cloud-init would silently ignore it.</item>
/// </list>
/// </summary>
public sealed class NoCloudSeed
{
    public const string VolumeLabel = "cidata";

    /// <summary>cloud-init's instance-id: a new value makes the guest run first-boot modules again.</summary>
    public required string InstanceId { get; init; }
    public required string Hostname { get; init; }
    /// <summary>OpenSSH public keys, one line each, for the default user.</summary>
    public IReadOnlyList<string> SshAuthorizedKeys { get; init; } = [];
    /// <summary>The user's own user data (see the class remarks for how it combines with ours).</summary>
    public string? UserData { get; init; }
    /// <summary>Network configuration (version 1 or 2) as YAML; written as is to network-config.</summary>
    public string? NetworkConfig { get; init; }

    /// <summary>The three files, ready for <see cref="Iso9660Writer"/>; network-config only when given.</summary>
    public IReadOnlyList<IsoFile> Files()
    {
        var utf8 = new UTF8Encoding(false);
        var files = new List<IsoFile> { new("meta-data", utf8.GetBytes(MetaData())), new("user-data", utf8.GetBytes(ComposeUserData())) };
        if (NetworkConfig is not null)
        {
            if (Parse(NetworkConfig, "network config", "NetworkConfigInvalid") is not YamlMappingNode)
                throw Invalid("NetworkConfigInvalid", "The network config must be a YAML mapping (version: 1 or 2).");
            files.Add(new("network-config", utf8.GetBytes(NetworkConfig)));
        }
        return files;
    }

    /// <summary>The seed image, byte for byte the same for the same inputs and timestamp.</summary>
    public byte[] ToIso(DateTime? timestamp = null) => Iso9660Writer.Build(VolumeLabel, Files(), timestamp);

    /// <summary>meta-data: instance-id and local-hostname.</summary>
    public string MetaData()
    {
        Require(InstanceId, nameof(InstanceId));
        Require(Hostname, nameof(Hostname));
        return Emit(new YamlMappingNode { { "instance-id", Quoted(InstanceId) }, { "local-hostname", Quoted(Hostname) } });
    }

    /// <summary>user-data as the guest will read it.</summary>
    public string ComposeUserData()
    {
        Require(Hostname, nameof(Hostname));
        var keys = SshAuthorizedKeys.Select(k => k.Trim()).Where(k => k.Length > 0).Distinct().ToList();
        if (keys.Any(k => k.Contains('\n') || k.Contains('\r')))
            throw Invalid("SshKeyInvalid", "An SSH public key must be a single line.");

        if (string.IsNullOrWhiteSpace(UserData)) return CloudConfig(Ours(keys));
        var type = ContentType(UserData)
            ?? throw Invalid("UserDataUnknownFormat", "User data must be a MIME message or start with #cloud-config, #!, " +
                "#include, #include-once, #cloud-boothook, #part-handler, #cloud-config-archive, #cloud-config-jsonp " +
                "or '## template: jinja'; cloud-init ignores anything else.");
        if (type == "text/cloud-config") return CloudConfig(Merge(UserData, keys));
        return Multipart(CloudConfig(Ours(keys)), type, UserData);
    }

    // ---- cloud-config ----

    private YamlMappingNode Ours(List<string> keys)
    {
        var map = new YamlMappingNode { { "hostname", Quoted(Hostname) } };
        if (keys.Count > 0) map.Add("ssh_authorized_keys", new YamlSequenceNode(keys.Select(Quoted)));
        return map;
    }

    private YamlMappingNode Merge(string userData, List<string> keys)
    {
        var map = Parse(userData, "user data", "UserDataInvalidYaml") switch
        {
            null => new YamlMappingNode(),
            YamlMappingNode m => m,
            _ => throw Invalid("UserDataInvalidYaml", "A #cloud-config user data must be a YAML mapping."),
        };
        var hostnameKey = new YamlScalarNode("hostname");
        if (!map.Children.ContainsKey(hostnameKey)) map.Add(hostnameKey, Quoted(Hostname));
        var keysKey = new YamlScalarNode("ssh_authorized_keys");
        if (map.Children.TryGetValue(keysKey, out var theirs))
        {
            if (theirs is not YamlSequenceNode list)
                throw Invalid("UserDataInvalidYaml", "ssh_authorized_keys in the user data must be a list.");
            var present = list.Children.OfType<YamlScalarNode>().Select(s => s.Value?.Trim()).ToHashSet();
            foreach (var k in keys.Where(k => !present.Contains(k)).Reverse()) list.Children.Insert(0, Quoted(k));
        }
        else if (keys.Count > 0) map.Add(keysKey, new YamlSequenceNode(keys.Select(Quoted)));
        return map;
    }

    private static string CloudConfig(YamlMappingNode map) => "#cloud-config\n" + Emit(map);

    // One YAML document (or none); syntax errors and duplicate keys become InvalidArgument.
    private static YamlNode? Parse(string text, string what, string errorId)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (Exception e) when (e is YamlException or ArgumentException)
        {
            throw Invalid(errorId, $"The {what} is not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count > 1) throw Invalid(errorId, $"The {what} must be a single YAML document.");
        var root = stream.Documents.FirstOrDefault()?.RootNode;
        return root is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain } ? null : root;
    }

    private static string Emit(YamlNode root)
    {
        var writer = new StringWriter { NewLine = "\n" };
        // No line folding: keys and long values stay on one line, as people expect to read them.
        new YamlStream(new YamlDocument(root)).Save(new Emitter(writer, 2, int.MaxValue), assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text; // YamlDotNet closes with an explicit "..."
    }

    // Double-quoted: always a string in YAML 1.1 and 1.2 (never yes/no/null/a number), any character escapable.
    private static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    // ---- MIME ----

    // What cloud-init calls each first line (cloudinit/handlers INCLUSION_TYPES_MAP), longest first.
    private static readonly (string Prefix, string Type)[] Formats = new (string, string)[]
    {
        ("#cloud-config-archive", "text/cloud-config-archive"), ("#cloud-config-jsonp", "text/cloud-config-jsonp"),
        ("## template: jinja", "text/jinja2"), ("#cloud-boothook", "text/cloud-boothook"),
        ("#include-once", "text/x-include-once-url"), ("#part-handler", "text/part-handler"),
        ("#cloud-config", "text/cloud-config"), ("#include", "text/x-include-url"), ("#!", "text/x-shellscript"),
    }.OrderByDescending(f => f.Item1.Length).ToArray();

    /// <summary>The MIME type cloud-init would give this user data, "multipart" for a MIME message, or null.</summary>
    internal static string? ContentType(string userData)
    {
        if (userData[..Math.Min(userData.Length, 4096)].Contains("mime-version:", StringComparison.OrdinalIgnoreCase)) return "multipart";
        var start = userData.TrimStart();
        return Formats.FirstOrDefault(f => start.StartsWith(f.Prefix, StringComparison.OrdinalIgnoreCase)).Type;
    }

    // multipart/mixed: our cloud-config, then the user's part, or the user's own MIME message nested as it is.
    private static string Multipart(string cloudConfig, string userType, string userData) =>
        MimeMultipart.Build([new MimePart("text/cloud-config", cloudConfig), new MimePart(userType, userData)]);

    private static void Require(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value)) throw Invalid("SeedValueMissing", $"{name} is required for a NoCloud seed.");
    }

    private static VfException Invalid(string id, string message, Exception? inner = null) =>
        new(id, FailureKind.InvalidArgument, message, inner: inner);
}
