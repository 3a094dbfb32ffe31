using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace VirtFleet.Libvirt;

/// <summary>
/// The OS profiles file: top-level keys are families (windows, linux); each holds its default keys and a
/// `variants` map whose entries override them. Catalogs overlay key by key (lists are replaced whole),
/// so a user file need only name what it changes.
/// </summary>
public sealed class OsProfileCatalog
{
    const string VariantsKey = "variants";

    static readonly IDeserializer Untyped = new DeserializerBuilder().Build();
    static readonly ISerializer Writer = new SerializerBuilder().Build();
    static readonly IDeserializer Typed = new DeserializerBuilder()
        .WithNamingConvention(SnakeCase.Instance)
        .WithEnumNamingConvention(LowerCaseNamingConvention.Instance).Build();

    // Every settable OsProfile property is a key the resolved profile must have.
    static readonly string[] RequiredKeys = typeof(OsProfile).GetProperties()
        .Where(p => p.SetMethod?.IsPublic == true)
        .Select(p => SnakeCase.Instance.Apply(p.Name)).ToArray();

    readonly Dictionary<object, object> _families;
    readonly string _source;

    OsProfileCatalog(Dictionary<object, object> families, string source) => (_families, _source) = (families, source);

    public static OsProfileCatalog Parse(string yaml, string source = "os-profiles.yml")
    {
        object? tree;
        try { tree = Untyped.Deserialize<object>(yaml); }
        catch (YamlException e) { throw Invalid(source, $"not valid YAML: {e.Message}", e); }
        tree ??= new Dictionary<object, object>(); // an empty (all comments) override file
        if (tree is not Dictionary<object, object> families || families.Values.Any(f => f is not Dictionary<object, object>))
            throw Invalid(source, "expected a map of OS families, each a map of keys");
        return new OsProfileCatalog(families, source);
    }

    public static OsProfileCatalog Load(string path)
    {
        try { return Parse(File.ReadAllText(path), path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VfException("OsProfilesNotReadable", FailureKind.ObjectNotFound, $"Cannot read OS profiles from {path}: {e.Message}", path, e);
        }
    }

    /// <summary>The module's profiles with the user's file, when it exists, laid over them.</summary>
    public static OsProfileCatalog Load(string defaultsPath, string? userPath) =>
        userPath is not null && File.Exists(userPath) ? Load(defaultsPath).Overlay(Load(userPath)) : Load(defaultsPath);

    /// <summary>This catalog with another's keys laid over it.</summary>
    public OsProfileCatalog Overlay(OsProfileCatalog over) =>
        new((Dictionary<object, object>)Merge(_families, over._families), $"{_source} + {over._source}");

    public IReadOnlyList<string> Families => _families.Keys.Select(k => k.ToString()!).ToList();

    public IReadOnlyList<string> VariantsOf(string family) =>
        (FamilyMap(family).GetValueOrDefault(VariantsKey) as Dictionary<object, object>)?.Keys.Select(k => k.ToString()!).ToList() ?? [];

    /// <summary>
    /// The profile for a family and variant (case-insensitive). An unknown or empty variant gets the family
    /// defaults (Variant is then null), as an unknown distribution release still is that OS.
    /// </summary>
    public OsProfile Resolve(string family, string? variant = null)
    {
        var familyMap = FamilyMap(family);
        var keys = familyMap.Where(kv => !Equals(kv.Key, VariantsKey)).ToDictionary();
        var variants = familyMap.GetValueOrDefault(VariantsKey) as Dictionary<object, object>;
        var variantKey = variant is null ? null : variants?.Keys.FirstOrDefault(k => Same(k, variant));
        if (variantKey is not null)
            keys = (Dictionary<object, object>)Merge(keys, variants![variantKey] ?? new Dictionary<object, object>());

        var name = variantKey is null ? family : $"{family}/{variantKey}";
        var missing = RequiredKeys.Where(k => keys.GetValueOrDefault(k) is null).ToList();
        if (missing.Count > 0)
            throw Invalid(_source, $"profile {name} lacks {string.Join(", ", missing)}");

        var text = Writer.Serialize(keys);
        OsProfile profile;
        try { profile = Typed.Deserialize<OsProfile>(text); }
        catch (YamlException e)
        {
            var line = text.Split('\n').ElementAtOrDefault((int)e.Start.Line - 1)?.Trim();
            throw Invalid(_source, $"profile {name}, at '{line}': {(e.InnerException ?? e).Message.TrimEnd('.')}", e);
        }
        profile.Family = FamilyKey(family);
        profile.Variant = variantKey?.ToString();
        return profile;
    }

    Dictionary<object, object> FamilyMap(string family) =>
        _families.FirstOrDefault(kv => Same(kv.Key, family)).Value as Dictionary<object, object>
        ?? throw new VfException("UnknownOsFamily", FailureKind.InvalidArgument,
            $"No OS profile for family '{family}'; known: {string.Join(", ", Families)}.", family);

    string FamilyKey(string family) => _families.Keys.First(k => Same(k, family)).ToString()!;

    static bool Same(object key, string name) => string.Equals(key.ToString(), name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Maps merge key by key; anything else (scalars, lists) is replaced by the overlay.</summary>
    static object Merge(object under, object over) =>
        under is Dictionary<object, object> a && over is Dictionary<object, object> b
            ? a.Keys.Union(b.Keys).ToDictionary(k => k, k =>
                !b.TryGetValue(k, out var o) ? a[k] : a.TryGetValue(k, out var u) && u is not null && o is not null ? Merge(u, o) : o!)
            : over;

    /// <summary>snake_case keys, with the unit MiB kept as one word (MinMemoryMiB → min_memory_mib).</summary>
    sealed class SnakeCase : INamingConvention
    {
        public static readonly SnakeCase Instance = new();
        public string Apply(string value) => UnderscoredNamingConvention.Instance.Apply(value.Replace("MiB", "Mib"));
        public string Reverse(string value) => UnderscoredNamingConvention.Instance.Reverse(value);
    }

    static VfException Invalid(string source, string problem, Exception? inner = null) =>
        new("InvalidOsProfile", FailureKind.InvalidData, $"OS profiles in {source}: {problem}.", source, inner);
}
