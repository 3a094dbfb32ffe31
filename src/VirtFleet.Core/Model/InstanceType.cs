namespace VirtFleet.Model;

/// <summary>A size for instances: vCPUs, memory and root disk.</summary>
public sealed record InstanceType(string Name, int Vcpus, int MemoryMiB, int DiskGiB, string Description = "")
{
    /// <summary>EC2-like defaults (memory rounded to MiB), plus a tiny size for test guests.</summary>
    public static IReadOnlyList<InstanceType> Defaults { get; } =
    [
        new("t1.micro", 1, 256, 1, "tiny test guests"),
        new("m1.small", 1, 1740, 10, "EC2 m1.small"),
        new("m1.medium", 1, 3840, 20, "EC2 m1.medium"),
        new("m1.large", 2, 7680, 40, "EC2 m1.large"),
        new("m1.xlarge", 4, 15360, 80, "EC2 m1.xlarge"),
    ];

    public const string DefaultName = "m1.small";

    /// <summary>Defaults, overridden and extended by a user file (instance-types.yml in the config folder).</summary>
    public static IReadOnlyList<InstanceType> All(string? userFile = null)
    {
        var list = Defaults.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
        userFile ??= UserPaths.InstanceTypes;
        if (File.Exists(userFile))
        {
            var doc = new YamlDotNet.Serialization.DeserializerBuilder()
                .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.CamelCaseNamingConvention.Instance).Build()
                .Deserialize<Dictionary<string, List<UserType>>?>(File.ReadAllText(userFile));
            foreach (var t in doc?.GetValueOrDefault("instanceTypes") ?? [])
                list[t.Name] = new InstanceType(t.Name, t.Vcpus, t.MemoryMiB, t.DiskGiB, t.Description ?? "user-defined");
        }
        return list.Values.OrderBy(t => t.Vcpus).ThenBy(t => t.MemoryMiB).ToList();
    }

    public static InstanceType Find(string name, string? userFile = null) =>
        All(userFile).FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new VfException("InstanceTypeNotFound", FailureKind.ObjectNotFound,
            $"No instance type '{name}'. Known: {string.Join(", ", All(userFile).Select(t => t.Name))}.", name);

    private sealed class UserType
    {
        public string Name { get; set; } = "";
        public int Vcpus { get; set; } = 1;
        public int MemoryMiB { get; set; } = 512;
        public int DiskGiB { get; set; } = 10;
        public string? Description { get; set; }
    }
}
