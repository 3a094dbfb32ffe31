using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Networking;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace VirtFleet.Playbooks;

/// <summary>
/// Reads a playbook's YAML tree into the typed model in one pass, substituting variables and recording
/// every problem at the line and column of its node. Nothing stops at the first error.
/// </summary>
internal sealed partial class PlaybookReader
{
    private static readonly string[] TopKeys =
        ["name", "vars", "environments", "hosts", "allowEmpty", "images", "keypairs", "networks", "securityGroups", "addresses", "instances", "operations", "prune", "owner"];
    private static readonly string[] ImageKeys = ["name", "path"];
    private static readonly string[] KeyPairKeys = ["name", "publicKeyFile", "generate", "type"];
    private static readonly string[] NetworkKeys = ["name", "mode", "subnet", "bridge", "span"];
    private static readonly string[] GroupKeys = ["name", "rules"];
    private static readonly string[] AddressKeys = ["address", "instance"];
    private static readonly string[] InstanceKeys =
        ["name", "namePrefix", "count", "image", "type", "network", "keypair", "groups", "placement", "tags", "userData"];
    private static readonly string[] OperationKeys = ["action", "select"];
    private static readonly string[] SelectKeys = ["tags", "names", "image"];
    private static readonly InstanceAction[] Actions =
        [InstanceAction.Start, InstanceAction.Stop, InstanceAction.Suspend, InstanceAction.Resume, InstanceAction.Restart];

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex VariableName();

    // Inventory host names, with wildcards.
    [GeneratedRegex(@"^[A-Za-z0-9*?\[][A-Za-z0-9._*?\[\]-]{0,62}\z")]
    private static partial Regex HostPattern();

    private readonly string _file;
    private readonly string _fullPath;
    private readonly List<PlaybookError> _errors = [];
    private readonly Dictionary<string, string> _vars = new(StringComparer.Ordinal);
    private List<string>? _types;

    private PlaybookReader(string file)
    {
        _file = file;
        _fullPath = System.IO.Path.GetFullPath(file.Length == 0 ? "playbook.yml" : file);
    }

    /// <summary>The largest playbook file read, in characters.</summary>
    public const int MaxInputChars = 1024 * 1024;
    /// <summary>How deeply lists and mappings may nest (the format itself needs 5 levels).</summary>
    public const int MaxDepth = 32;
    /// <summary>The longest value after ${var} substitution.</summary>
    public const int MaxValueChars = 256 * 1024;
    /// <summary>All substituted values of one read together (bounds a small file that expands quadratically).</summary>
    public const int MaxExpandedChars = 4 * 1024 * 1024;
    /// <summary>How many environments a playbook may define (each is validated on its own).</summary>
    public const int MaxEnvironments = 64;

    private long _expanded;

    /// <summary>The document's root mapping, or null with the syntax error recorded.</summary>
    public static YamlMappingNode? Parse(string text, string file, List<PlaybookError> errors)
    {
        if (text.Length > MaxInputChars)
        {
            errors.Add(new(file, 1, 1, $"The playbook is {text.Length} characters long; the limit is {MaxInputChars}. Split it into several playbooks.", "LimitExceeded"));
            return null;
        }
        if (TooDeep(text, file) is { } deep)
        {
            errors.Add(deep);
            return null;
        }
        var parser = new Parser(new StringReader(text));
        var stream = new YamlStream();
        try { stream.Load(parser); }
        catch (YamlException ex)
        {
            errors.Add(new(file, (int)ex.Start.Line, (int)ex.Start.Column, "YAML syntax: " + ex.Message, "YamlSyntax"));
            return null;
        }
        catch (InvalidOperationException) // YamlDotNet's scanner on some malformed flow collections
        {
            var at = parser.Current?.Start ?? Mark.Empty;
            errors.Add(new(file, (int)at.Line, (int)at.Column, "YAML syntax: malformed document near here.", "YamlSyntax"));
            return null;
        }
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            errors.Add(new(file, 1, 1, "The playbook is empty; it needs at least 'name'.", "MissingKey"));
            return null;
        }
        if (stream.Documents.Count > 1)
            errors.Add(At(file, stream.Documents[1].RootNode, "A playbook is one YAML document; remove the second '---'.", "YamlSyntax"));
        if (stream.Documents[0].RootNode is YamlMappingNode root) return root;
        errors.Add(At(file, stream.Documents[0].RootNode, "A playbook is a mapping of keys (name, instances, ...).", "WrongType"));
        return null;
    }

    /// <summary>
    /// The first place where lists and mappings nest deeper than <see cref="MaxDepth"/>, found from the parser's events
    /// before a tree is built (building one recurses once per level). Syntax errors are left to the real load.
    /// </summary>
    private static PlaybookError? TooDeep(string text, string file)
    {
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart when ++depth > MaxDepth:
                        var at = parser.Current.Start;
                        return new(file, (int)at.Line, (int)at.Column,
                            $"Lists and mappings nest more than {MaxDepth} levels deep here; a playbook needs far fewer.", "LimitExceeded");
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException) { }
        return null;
    }

    public static (Playbook? Playbook, IReadOnlyList<PlaybookError> Errors) Read(YamlMappingNode root, string file, string? environment)
    {
        var r = new PlaybookReader(file);
        var playbook = r.ReadPlaybook(root, environment);
        return r._errors.Count == 0 ? (playbook, []) : (null, r._errors);
    }

    /// <summary>An error at 'environments' when the document defines more than <see cref="MaxEnvironments"/>.</summary>
    public static PlaybookError? TooManyEnvironments(YamlMappingNode root, string file) =>
        Child(root, "environments") is YamlMappingNode envs && envs.Children.Count > MaxEnvironments
            ? At(file, envs, $"The playbook defines {envs.Children.Count} environments; the limit is {MaxEnvironments}.", "LimitExceeded")
            : null;

    /// <summary>The environments a document defines (for validating each of them).</summary>
    public static IReadOnlyList<string> EnvironmentNames(YamlMappingNode root) =>
        Child(root, "environments") is YamlMappingNode envs ? envs.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "").ToList() : [];

    private Playbook? ReadPlaybook(YamlMappingNode root, string? environment)
    {
        var top = new Section(this, root, "the playbook", TopKeys);
        ReadVars(top, environment);
        var name = Name(top, "name", "playbook", Names.ValidateInstanceName, null);
        var owner = top.Str("owner") is { } o ? Check(top.Get("owner")!, o, Names.ValidateInstanceName) : null;

        var hosts = top.Strings("hosts").Select(h => ReadHost(h.Value, h.Node)).OfType<HostSelector>().ToList();

        var imageNames = new HashSet<string>(StringComparer.Ordinal);
        var images = Each(top, "images", "an image", ImageKeys, s =>
            Name(s, "name", "image", Names.ValidateInstanceName, imageNames) is { } n ? new ImageSpec(n, s.Str("path") is { } p ? FullPath(p) : null) : null);

        var keyNames = new HashSet<string>(StringComparer.Ordinal);
        var keyPairs = Each(top, "keypairs", "a key pair", KeyPairKeys, ReadKeyPair(keyNames));

        var netNames = new HashSet<string>(StringComparer.Ordinal);
        var networks = Each(top, "networks", "a network", NetworkKeys, ReadNetwork(netNames));

        var groupNames = new HashSet<string>(StringComparer.Ordinal);
        var groups = Each(top, "securityGroups", "a security group", GroupKeys, s =>
            Name(s, "name", "security group", SecurityGroup.ValidateName, groupNames) is { } n ? new SecurityGroupSpec(n, ReadRules(s)) : null);

        var instanceNames = new HashSet<string>(StringComparer.Ordinal);
        var refs = new References(imageNames, netNames, groupNames, keyNames);
        var instances = Each(top, "instances", "an instance", InstanceKeys, s => ReadInstance(s, instanceNames, refs));

        var addressSeen = new HashSet<string>(StringComparer.Ordinal);
        var associated = new HashSet<string>(StringComparer.Ordinal);
        var addresses = Each(top, "addresses", "an address", AddressKeys, s => ReadAddress(s, addressSeen, associated, instanceNames));

        var operations = Each(top, "operations", "an operation", OperationKeys, ReadOperation);
        var prune = top.Bool("prune");
        var allowEmpty = top.Bool("allowEmpty");

        if (name is null || _errors.Count > 0) return null;
        return new Playbook
        {
            Name = name, OwnerId = owner, Path = _fullPath, Environment = environment,
            Vars = new Dictionary<string, string>(_vars), Hosts = hosts, Images = images, KeyPairs = keyPairs, Networks = networks,
            SecurityGroups = groups, Addresses = addresses, Instances = instances, Operations = operations, Prune = prune, AllowEmpty = allowEmpty,
        };
    }

    // ---- variables ----

    private void ReadVars(Section top, string? environment)
    {
        if (top.Get("vars") is { } vars && !IsNull(vars))
        {
            if (vars is not YamlMappingNode map) Error(vars, "WrongType", "'vars' is a mapping of names to text values.");
            else
                foreach (var (key, value) in map.Children)
                    if (VarName(key) is { } n && VarValue(value, n) is { } v) _vars[n] = v;
        }

        var envs = top.Get("environments");
        var found = false;
        if (envs is YamlMappingNode envMap)
            foreach (var (key, value) in envMap.Children)
            {
                var env = Text(key, "an environment name", substitute: false);
                if (env is null) continue;
                var s = value is YamlMappingNode m ? new Section(this, m, $"environment '{env}'", ["vars"]) : null;
                if (s is null) { Error(value, "WrongType", $"Environment '{env}' is a mapping with 'vars'."); continue; }
                var isChosen = env == environment;
                found |= isChosen;
                if (s.Get("vars") is not { } ev || IsNull(ev)) continue;
                if (ev is not YamlMappingNode evMap) { Error(ev, "WrongType", $"'vars' of environment '{env}' is a mapping of names to text values."); continue; }
                foreach (var (vk, vv) in evMap.Children)
                {
                    if (VarName(vk) is not { } n) continue;
                    if (!top.HasVar(n))
                        Error(vk, "UndefinedVariable", $"Environment '{env}' sets '{n}', which 'vars' does not define; give every variable a default there." +
                                                       Spelling.Hint(n, _vars.Keys));
                    else if (isChosen && VarValue(vv, n) is { } v) _vars[n] = v;
                }
            }
        else if (envs is not null && !IsNull(envs)) Error(envs, "WrongType", "'environments' is a mapping of environment names to {vars: ...}.");

        if (environment is not null && !found)
        {
            var known = EnvironmentNames(top.Node);
            Error(envs ?? top.Node, "UnknownEnvironment", $"No environment '{environment}' in the playbook" +
                  (known.Count == 0 ? "." : $"; it defines {string.Join(", ", known)}.") + Spelling.Hint(environment, known));
        }
    }

    private string? VarName(YamlNode key)
    {
        var n = Text(key, "a variable name", substitute: false);
        if (n is not null && !VariableName().IsMatch(n))
        {
            Error(key, "InvalidName", $"'{n}' is not a variable name: use letters, digits and '_', not starting with a digit.");
            return null;
        }
        return n;
    }

    private string? VarValue(YamlNode value, string name) =>
        value is YamlScalarNode s ? (IsNull(s) ? "" : s.Value ?? "") : Fail<string>(value, "WrongType", $"Variable '{name}' is a text value, not a list or mapping.");

    /// <summary>Replaces ${name} with the variable's value ($${ stands for a literal ${); null after an error.</summary>
    private string? Substitute(string text, YamlNode at)
    {
        if (!text.Contains("${", StringComparison.Ordinal)) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && i + 2 < text.Length && text[i + 1] == '$' && text[i + 2] == '{') { sb.Append("${"); i += 2; continue; }
            if (text[i] != '$' || i + 1 >= text.Length || text[i + 1] != '{') { sb.Append(text[i]); continue; }
            var end = text.IndexOf('}', i + 2);
            if (end < 0) return Fail<string>(at, "UndefinedVariable", "'${' without a closing '}'; write $${ for a literal ${.");
            var name = text[(i + 2)..end];
            if (!_vars.TryGetValue(name, out var value))
                return Fail<string>(at, "UndefinedVariable", $"Undefined variable '{name}'; define it under 'vars' (or write $${{ for a literal ${{)." +
                                                             Spelling.Hint(name, _vars.Keys));
            if (sb.Length + value.Length > MaxValueChars)
                return Fail<string>(at, "LimitExceeded", $"This value grows past {MaxValueChars} characters when its variables are substituted.");
            sb.Append(value);
            i = end;
        }
        if ((_expanded += sb.Length) > MaxExpandedChars)
            return Fail<string>(at, "LimitExceeded",
                $"The playbook's values grow past {MaxExpandedChars} characters in all when their variables are substituted (here, at the latest).");
        return sb.ToString();
    }

    // ---- sections ----

    private HostSelector? ReadHost(string text, YamlNode at)
    {
        if (text.StartsWith("tag:", StringComparison.OrdinalIgnoreCase))
            return Check(at, text[4..], Names.ValidateTag) is { } tag ? new HostSelector(null, tag) : null;
        if (HostPattern().IsMatch(text)) return new HostSelector(text, null);
        Error(at, "InvalidName", $"'{text}' is not a host name (letters, digits, '.', '_', '-', wildcards * ? [ ]) or tag:NAME.");
        return null;
    }

    private Func<Section, KeyPairSpec?> ReadKeyPair(HashSet<string> seen) => s =>
    {
        var name = Name(s, "name", "key pair", Names.ValidateInstanceName, seen);
        var file = s.Str("publicKeyFile");
        var generate = s.Bool("generate");
        if (file is not null && generate)
            Error(s.Get("generate")!, "InvalidValue", $"Key pair '{name}': give publicKeyFile or generate: true, not both.");
        // The type of a generated key (rsa for Windows passwords); an imported key's type is its file's.
        var type = s.Choice("type", [KeyType.Ed25519, KeyType.Rsa], lowercase: true);
        if (type is not null && !generate)
            Error(s.Get("type")!, "InvalidValue", $"Key pair '{name}': type applies to a generated key pair (generate: true).");
        return name is null ? null : new KeyPairSpec(name, file is null ? null : FullPath(file), generate, type ?? KeyType.Ed25519);
    };

    private Func<Section, NetworkSpec?> ReadNetwork(HashSet<string> seen) => s =>
    {
        var name = Name(s, "name", "network", Names.ValidateNetworkName, seen);
        var mode = s.Choice("mode", Enum.GetValues<NetworkMode>());
        var subnet = s.Str("subnet");
        var bridge = s.Str("bridge");
        var span = s.Bool("span");
        if (s.Get("mode") is null)
        {
            foreach (var key in new[] { "subnet", "bridge", "span" })
                if (s.Get(key) is { } n)
                    Error(n, "InvalidValue", $"Network '{name}': '{key}' needs 'mode'; a network given by name alone must exist on the hosts.");
        }
        else if (mode is NetworkMode.Bridged)
        {
            if (s.Require("bridge")) bridge = Check(s.Get("bridge")!, bridge, Names.ValidateBridgeName);
            if (s.Get("subnet") is { } n) Error(n, "InvalidValue", $"Network '{name}': a Bridged network takes 'bridge', not 'subnet' (the LAN has its own).");
            if (span) Error(s.Get("span")!, "InvalidValue", $"Network '{name}': a Bridged network already joins the hosts' LAN; 'span' is for Nat and Isolated.");
        }
        else if (mode is not null)
        {
            if (s.Require("subnet") && subnet is not null && !IsIPv4Network(subnet))
                Error(s.Get("subnet")!, "InvalidValue", $"'{subnet}' is not an IPv4 subnet in CIDR form such as 203.0.113.0/24 (no bits set past the prefix).");
            if (s.Get("bridge") is { } n) Error(n, "InvalidValue", $"Network '{name}': 'bridge' is for Bridged networks; libvirt names the bridge of a {mode} network.");
        }
        return name is null ? null : new NetworkSpec(name, mode, subnet, bridge, span);
    };

    private List<SecurityRule> ReadRules(Section s)
    {
        var rules = new List<SecurityRule>();
        foreach (var (text, node) in s.Strings("rules"))
        {
            try
            {
                var rule = SecurityRule.Parse(text);
                if (!rules.Contains(rule)) rules.Add(rule);
            }
            catch (VfException ex) { Error(node, "InvalidValue", ex.Message); }
        }
        return rules;
    }

    private sealed record References(HashSet<string> Images, HashSet<string> Networks, HashSet<string> Groups, HashSet<string> KeyPairs);

    private InstanceSpec? ReadInstance(Section s, HashSet<string> seen, References refs)
    {
        var single = s.Str("name");
        var prefix = s.Str("namePrefix");
        var count = s.Int("count", 0, 1000);
        if (single is null && prefix is null)
        {
            if ((s.Get("name") ?? s.Get("namePrefix")) is null) s.Missing("name", "namePrefix");
            else s.Require(s.Get("name") is null ? "namePrefix" : "name");
            return null;
        }
        if (single is not null && prefix is not null)
        {
            Error(s.Get("namePrefix")!, "InvalidValue", "An instance has 'name' or 'namePrefix' (with count), not both.");
            return null;
        }
        if (single is not null && count is not null and not 1)
            Error(s.Get("count")!, "InvalidValue", $"Instance '{single}': count needs namePrefix (instances are named PREFIX-1, PREFIX-2, ...).");

        var spec = new InstanceSpec(single ?? prefix!)
        {
            NamePrefix = prefix, Count = prefix is null ? 1 : count ?? 1,
            Image = Reference(s, "image", "image", refs.Images, required: true) ?? "",
            Type = s.Str("type") is { } type ? KnownType(s.Get("type")!, type) : InstanceType.DefaultName,
            Network = Reference(s, "network", "network", refs.Networks),
            KeyPair = Reference(s, "keypair", "key pair", refs.KeyPairs),
            Groups = s.Strings("groups").Select(g => Reference(g.Node, g.Value, "security group", "securityGroups", refs.Groups)).Distinct().ToList(),
            Placement = s.Choice("placement", Enum.GetValues<PlacementStrategy>()) ?? PlacementStrategy.LeastLoaded,
            Tags = ReadTags(s, "tags"),
            UserData = s.Str("userData"),
        };
        var at = s.Get(prefix is null ? "name" : "namePrefix")!;
        foreach (var n in spec.Names)
        {
            if (Check(at, n, Names.ValidateInstanceName) is null) break;
            if (!seen.Add(n)) Error(at, "DuplicateName", $"Instance '{n}' is listed twice.");
        }
        return spec;
    }

    private AddressSpec? ReadAddress(Section s, HashSet<string> seen, HashSet<string> associated, HashSet<string> instances)
    {
        var address = s.Str("address", required: true);
        if (address is not null)
        {
            if (!IPAddress.TryParse(address, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork || ip.ToString() != address)
                Error(s.Get("address")!, "InvalidValue", $"'{address}' is not an IPv4 address such as 203.0.113.10.");
            else if (!seen.Add(address)) Error(s.Get("address")!, "DuplicateName", $"Address {address} is listed twice.");
        }
        var instance = s.Str("instance");
        if (instance is not null)
        {
            if (!instances.Contains(instance))
                Error(s.Get("instance")!, "UndefinedReference", $"Address {address}: '{instance}' is not one of the playbook's instances." + Spelling.Hint(instance, instances));
            else if (!associated.Add(instance))
                Error(s.Get("instance")!, "DuplicateName", $"Instance '{instance}' already has an address; an instance gets one.");
        }
        return address is null ? null : new AddressSpec(address, instance);
    }

    private OperationSpec? ReadOperation(Section s)
    {
        var action = s.Choice("action", Actions, lowercase: true, required: true);
        if (!s.Require("select")) return null;
        if (s.Get("select") is not YamlMappingNode m)
        {
            Error(s.Get("select")!, "WrongType", "'select' is a mapping with tags, names and/or image.");
            return null;
        }
        var sel = new Section(this, m, "select", SelectKeys);
        var select = new Selection(ReadTags(sel, "tags"), sel.Strings("names").Select(x => x.Value).ToList(), sel.Str("image"));
        if (select.Tags.Count == 0 && select.Names.Count == 0 && select.Image is null && !sel.WasSuggested(SelectKeys))
            Error(m, "MissingKey", "'select' needs tags, names or image; an operation never applies to every instance by default.");
        return action is null ? null : new OperationSpec(action.Value, select);
    }

    private List<string> ReadTags(Section s, string key) =>
        s.Strings(key).Select(t =>
        {
            if (t.Value.StartsWith(Playbook.OwnerTagPrefix, StringComparison.OrdinalIgnoreCase))
                Error(t.Node, "InvalidValue", $"Tag '{t.Value}': tags starting with '{Playbook.OwnerTagPrefix}' mark ownership and are set by VirtFleet.");
            return Check(t.Node, t.Value, Names.ValidateTag);
        }).OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    // ---- helpers ----

    private List<T> Each<T>(Section parent, string key, string what, string[] keys, Func<Section, T?> read) where T : class
    {
        var list = new List<T>();
        if (parent.Get(key) is not { } node || IsNull(node)) return list;
        if (node is not YamlSequenceNode seq) { Error(node, "WrongType", $"'{key}' is a list."); return list; }
        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode m) { Error(item, "WrongType", $"Each entry of '{key}' is a mapping (key: value lines), not {Kind(item)}."); continue; }
            if (read(new Section(this, m, what, keys)) is { } v) list.Add(v);
        }
        return list;
    }

    /// <summary>A required name: checked by the allowlist and, with a set, for duplicates.</summary>
    private string? Name(Section s, string key, string what, Func<string?, string> validate, HashSet<string>? seen)
    {
        var name = s.Str(key, required: true);
        if (name is null) return null;
        var at = s.Get(key)!;
        if (Check(at, name, validate) is not null && seen is not null && !seen.Add(name))
            Error(at, "DuplicateName", $"The {what} '{name}' is defined twice.");
        return name;
    }

    private string? Reference(Section s, string key, string what, HashSet<string> defined, bool required = false) =>
        s.Str(key, required) is { } v ? Reference(s.Get(key)!, v, what, key switch { "keypair" => "keypairs", _ => key + "s" }, defined) : null;

    private string Reference(YamlNode at, string name, string what, string section, HashSet<string> defined)
    {
        if (!defined.Contains(name))
            Error(at, "UndefinedReference", $"The {what} '{name}' is not defined under '{section}'." + Spelling.Hint(name, defined));
        return name;
    }

    private string KnownType(YamlNode at, string type)
    {
        var known = _types ??= InstanceType.All().Select(t => t.Name).ToList();
        if (!known.Contains(type, StringComparer.OrdinalIgnoreCase))
            Error(at, "InvalidValue", $"No instance type '{type}'; known: {string.Join(", ", known)}." + Spelling.Hint(type, known));
        return type;
    }

    /// <summary>Runs an allowlist check; its message becomes an error at the node.</summary>
    private string? Check(YamlNode at, string? value, Func<string?, string> validate)
    {
        try { return validate(value); }
        catch (VfException ex) { Error(at, "InvalidName", ex.Message); return null; }
    }

    private string FullPath(string path) =>
        System.IO.Path.GetFullPath(UserPaths.ExpandHome(path), System.IO.Path.GetDirectoryName(_fullPath)!);

    private static bool IsIPv4Network(string text) =>
        IPNetwork.TryParse(text, out var net) && net.BaseAddress.AddressFamily == AddressFamily.InterNetwork && net.ToString() == text;

    /// <summary>A scalar's text with variables substituted; lists, mappings and empty values are errors.</summary>
    private string? Text(YamlNode node, string what, bool substitute = true)
    {
        if (node is YamlScalarNode s && !IsNull(s)) return substitute ? Substitute(s.Value ?? "", node) : s.Value ?? "";
        return Fail<string>(node, "WrongType", $"Expected {what}, found {Kind(node)}.");
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" or "Null" or "NULL" };

    private static string Kind(YamlNode node) => node switch
    {
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ when IsNull(node) => "nothing",
        _ => $"'{((YamlScalarNode)node).Value}'",
    };

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: var k } && k == key).Value;

    private T? Fail<T>(YamlNode at, string id, string message) where T : class
    {
        Error(at, id, message);
        return null;
    }

    private void Error(YamlNode at, string id, string message) => _errors.Add(At(_file, at, message, id));

    private static PlaybookError At(string file, YamlNode node, string message, string id) =>
        new(file, (int)node.Start.Line, (int)node.Start.Column, message, id);

    /// <summary>A mapping read against its known keys: unknown ones are reported (with a suggestion) up front.</summary>
    private sealed class Section
    {
        private readonly PlaybookReader _r;
        private readonly string _what;
        private readonly HashSet<string> _suggested = [];
        public YamlMappingNode Node { get; }

        public Section(PlaybookReader r, YamlMappingNode node, string what, string[] keys)
        {
            (_r, Node, _what) = (r, node, what);
            foreach (var key in node.Children.Keys)
            {
                if (key is not YamlScalarNode { Value: { } k }) { r.Error(key, "WrongType", $"Keys in {what} are words, not {Kind(key)}."); continue; }
                if (keys.Contains(k)) continue;
                var hint = Spelling.Suggest(k, keys);
                if (hint is not null) _suggested.Add(hint);
                r.Error(key, "UnknownKey", $"Unknown key '{k}' in {what}." +
                                           (hint is null ? $" Known keys: {string.Join(", ", keys)}." : $" Did you mean '{hint}'?"));
            }
        }

        public YamlNode? Get(string key) => Child(Node, key);

        public bool HasVar(string name) => Get("vars") is YamlMappingNode m && m.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == name);

        /// <summary>False, with an error, when the key is absent or empty (unless a misspelt key was already reported for it).</summary>
        public bool Require(string key)
        {
            if (Get(key) is { } v && !IsNull(v)) return true;
            if (Get(key) is { } empty) _r.Error(empty, "MissingKey", $"'{key}' in {_what} needs a value.");
            else Missing(key);
            return false;
        }

        /// <summary>A misspelt key was already reported as one of these.</summary>
        public bool WasSuggested(params string[] keys) => keys.Any(_suggested.Contains);

        public void Missing(params string[] keys)
        {
            if (!WasSuggested(keys))
                _r.Error(Node, "MissingKey", $"{Capital(_what)} needs '{string.Join("' or '", keys)}'.");
        }

        public string? Str(string key, bool required = false)
        {
            if (required && !Require(key)) return null;
            return Get(key) is { } v && (required || !IsNull(v)) ? _r.Text(v, $"a text value for '{key}'") : null;
        }

        public int? Int(string key, int min, int max)
        {
            if (Str(key) is not { } text) return null;
            if (int.TryParse(text, System.Globalization.NumberStyles.None, null, out var n) && n >= min && n <= max) return n;
            _r.Error(Get(key)!, "WrongType", $"'{key}' is a whole number from {min} to {max}, not '{text}'.");
            return null;
        }

        public bool Bool(string key)
        {
            if (Str(key) is not { } text) return false;
            if (bool.TryParse(text, out var b)) return b;
            _r.Error(Get(key)!, "WrongType", $"'{key}' is true or false, not '{text}'.");
            return false;
        }

        public T? Choice<T>(string key, IReadOnlyList<T> allowed, bool lowercase = false, bool required = false) where T : struct, Enum
        {
            if (Str(key, required) is not { } text) return null;
            foreach (var a in allowed)
                if (string.Equals(a.ToString(), text, StringComparison.OrdinalIgnoreCase)) return a;
            var names = allowed.Select(a => lowercase ? a.ToString().ToLowerInvariant() : a.ToString()).ToList();
            _r.Error(Get(key)!, "InvalidValue", $"'{text}' is not a valid {key}: use {string.Join(", ", names)}." + Spelling.Hint(text, names));
            return null;
        }

        /// <summary>A list of text values, each with its node for later errors.</summary>
        public List<(string Value, YamlNode Node)> Strings(string key)
        {
            var list = new List<(string, YamlNode)>();
            if (Get(key) is not { } node || IsNull(node)) return list;
            if (node is not YamlSequenceNode seq)
            {
                _r.Error(node, "WrongType", $"'{key}' is a list, such as [a, b] or lines starting with '- ', not {Kind(node)}.");
                return list;
            }
            foreach (var item in seq.Children)
                if (_r.Text(item, $"a text value in '{key}'") is { } text) list.Add((text, item));
            return list;
        }

        private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
    }
}
