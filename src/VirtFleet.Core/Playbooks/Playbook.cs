using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;

namespace VirtFleet.Playbooks;

/// <summary>A validated playbook with its variables substituted (see docs/playbooks.md).</summary>
public sealed class Playbook
{
    public const string OwnerTagPrefix = "playbook:";

    public required string Name { get; init; }
    /// <summary>Full path of the file; relative paths inside it were resolved against its folder.</summary>
    public string Path { get; init; } = "";
    /// <summary>The environment whose variables were applied, if any.</summary>
    public string? Environment { get; init; }
    /// <summary>The variables in effect (vars with the environment's overrides).</summary>
    public IReadOnlyDictionary<string, string> Vars { get; init; } = new Dictionary<string, string>();
    /// <summary>Which inventory hosts the playbook works on; empty means all of them.</summary>
    public IReadOnlyList<HostSelector> Hosts { get; init; } = [];
    public IReadOnlyList<ImageSpec> Images { get; init; } = [];
    public IReadOnlyList<KeyPairSpec> KeyPairs { get; init; } = [];
    public IReadOnlyList<NetworkSpec> Networks { get; init; } = [];
    public IReadOnlyList<SecurityGroupSpec> SecurityGroups { get; init; } = [];
    public IReadOnlyList<AddressSpec> Addresses { get; init; } = [];
    public IReadOnlyList<InstanceSpec> Instances { get; init; } = [];
    public IReadOnlyList<OperationSpec> Operations { get; init; } = [];
    /// <summary>The playbook asks for its unlisted instances to be removed (the planner's default for prune).</summary>
    public bool Prune { get; init; }
    /// <summary>A host selection that matches no inventory host is not an error (allowEmpty: true).</summary>
    public bool AllowEmpty { get; init; }

    /// <summary>The tag every instance this playbook creates carries (for selections and Get-VfInstance); prune goes by <see cref="Owner"/>.</summary>
    public string OwnerTag => OwnerTagPrefix + Name;

    /// <summary>The playbook's 'owner:' (its identity as the owner of what it creates); null: its name.</summary>
    public string? OwnerId { get; init; }

    /// <summary>This playbook's identity: the 'owner:' it gives, else its name.</summary>
    public string Id => OwnerId ?? Name;

    /// <summary>
    /// The owner record every instance this playbook creates carries in its domain metadata (&lt;vf:owner playbook= id=&gt;).
    /// No cmdlet writes one, unlike a tag, so prune removes only what a playbook of this identity created itself.
    /// </summary>
    public InstanceOwner Owner => new(Name, Id);

    /// <summary>True when <paramref name="instance"/> was created by this playbook (its owner record has this playbook's identity).</summary>
    public bool Owns(Instance instance) => instance.IsVirtFleet && instance.Owner is { } o && string.Equals(o.Id, Id, StringComparison.Ordinal);

    /// <summary>Every instance name the playbook lists, in order.</summary>
    public IEnumerable<string> InstanceNames => Instances.SelectMany(i => i.Names);

    /// <summary>
    /// The inventory hosts the playbook selects. A plain host name that matches nothing is an error (HostNotFound), and so
    /// is a selection that matches no host at all (NoHostsSelected) unless the playbook says allowEmpty: true: a scheduled
    /// run that reaches nothing must not report success.
    /// </summary>
    /// <param name="inventoryPath">Named in the errors.</param>
    public IReadOnlyList<HostEntry> SelectHosts(IEnumerable<HostEntry> inventory, string? inventoryPath = null)
    {
        var all = inventory.ToList();
        var where = inventoryPath is null ? "the inventory" : $"the inventory {inventoryPath}";
        if (Hosts.FirstOrDefault(s => s.Tag is null && !Wildcard.HasWildcards(s.Name!) && !all.Any(s.Matches)) is { } missing)
            throw new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Playbook {Name}: no host '{missing}' in {where}.", missing.Name);
        var selected = Hosts.Count == 0 ? all : all.Where(h => Hosts.Any(s => s.Matches(h))).ToList();
        if (selected.Count == 0 && !AllowEmpty)
            throw new VfException("NoHostsSelected", FailureKind.ObjectNotFound,
                $"Playbook {Name}: {(Hosts.Count == 0 ? "there are no hosts" : $"hosts: [{string.Join(", ", Hosts)}] matches no host")} in {where}, so it would " +
                "do nothing. Fix the selection or the inventory, or add 'allowEmpty: true' to the playbook if an empty selection is expected.", Name);
        return selected;
    }
}

/// <summary>A host name (wildcards allowed) or, written tag:NAME, every host carrying a tag.</summary>
public sealed record HostSelector(string? Name, string? Tag)
{
    public bool Matches(HostEntry host) => Tag is not null ? host.HasTag(Tag) : Wildcard.IsMatch(host.Name, Name!);
    public override string ToString() => Tag is null ? Name! : "tag:" + Tag;
}

/// <summary>Something a playbook declares by name; the planner hands it to the executor in its steps.</summary>
public abstract record PlaybookResource(string Name);

/// <summary>An image: imported from Path (a folder with image.json, or a qcow2) where missing; without Path it must exist.</summary>
public sealed record ImageSpec(string Name, string? Path) : PlaybookResource(Name);

/// <summary>A key pair: imported from PublicKeyFile, or generated (of Type: Rsa for Windows passwords), when missing; with neither it must exist.</summary>
public sealed record KeyPairSpec(string Name, string? PublicKeyFile, bool Generate, KeyPairs.KeyType Type = KeyPairs.KeyType.Ed25519) : PlaybookResource(Name);



/// <summary>
/// A network on every selected host. Without Mode it must exist already. Nat and Isolated take a Subnet,
/// Bridged a host Bridge; Span joins the hosts' segments into one.
/// </summary>
public sealed record NetworkSpec(string Name, NetworkMode? Mode, string? Subnet, string? Bridge, bool Span) : PlaybookResource(Name)
{
    public string Describe() => Mode switch
    {
        null => "existing",
        NetworkMode.Bridged => $"Bridged {Bridge}",
        _ => $"{Mode} {Subnet}" + (Span ? ", span" : ""),
    };
}

/// <summary>A security group: what it lets in; everything else inbound is dropped.</summary>
public sealed record SecurityGroupSpec(string Name, IReadOnlyList<SecurityRule> Rules) : PlaybookResource(Name)
{
    public SecurityGroup ToSecurityGroup(string? description = null) => new(Name, description, Rules);
}

/// <summary>A public address in the pool, optionally associated with one of the playbook's instances.</summary>
public sealed record AddressSpec(string Address, string? Instance) : PlaybookResource(Address);

/// <summary>One instance (Name) or Count instances named NamePrefix-1 .. NamePrefix-Count.</summary>
public sealed record InstanceSpec(string Name) : PlaybookResource(Name)
{
    public string? NamePrefix { get; init; }
    public int Count { get; init; } = 1;
    public string Image { get; init; } = "";
    public string Type { get; init; } = InstanceType.DefaultName;
    public string? Network { get; init; }
    public string? KeyPair { get; init; }
    public IReadOnlyList<string> Groups { get; init; } = [];
    public PlacementStrategy Placement { get; init; } = PlacementStrategy.LeastLoaded;
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? UserData { get; init; }

    public IReadOnlyList<string> Names =>
        NamePrefix is null ? [Name] : Enumerable.Range(1, Count).Select(i => $"{NamePrefix}-{i}").ToList();
}

/// <summary>Which instances an operation applies to: all criteria must hold; an empty criterion is no constraint.</summary>
public sealed record Selection(IReadOnlyList<string> Tags, IReadOnlyList<string> Names, string? Image)
{
    /// <summary>Every tag present, any name pattern (wildcards) matching, the same image.</summary>
    public bool Matches(string name, IEnumerable<string> tags, string? image) =>
        Tags.All(t => tags.Contains(t, StringComparer.OrdinalIgnoreCase)) &&
        (Names.Count == 0 || Names.Any(p => Wildcard.IsMatch(name, p))) &&
        (Image is null || string.Equals(Image, image, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => string.Join(", ",
        new[] { Tags.Count > 0 ? "tags " + string.Join(" ", Tags) : null, Names.Count > 0 ? "names " + string.Join(" ", Names) : null,
                Image is null ? null : "image " + Image }.OfType<string>());
}

/// <summary>A lifecycle action (Start, Stop, Suspend, Resume or Restart) on the instances a selection matches.</summary>
public sealed record OperationSpec(InstanceAction Action, Selection Select);
