using System.Globalization;
using System.Xml.Linq;

namespace VirtFleet.Libvirt;

/// <summary>
/// What VirtFleet records about an instance inside its domain's &lt;metadata&gt;, in VirtFleet's own
/// XML namespace. A domain without it was not created by VirtFleet and is never touched destructively.
/// </summary>
public sealed class VfMetadata
{
    public const string NamespaceUri = "https://virtfleet.dev/xmlns/instance/1";
    public const string Prefix = "vf";
    public static readonly XNamespace Ns = NamespaceUri;

    public string InstanceId { get; set; } = "";
    public string? Image { get; set; }
    public string? OsFamily { get; set; }
    public string? OsVariant { get; set; }
    public string? InstanceType { get; set; }
    public string? KeyPair { get; set; }
    public List<string> Networks { get; set; } = [];
    public List<string> SecurityGroups { get; set; } = [];
    public List<string> Tags { get; set; } = [];
    /// <summary>Anti-affinity: members of one spread group never share a host (create, move, rebalance).</summary>
    public string? SpreadGroup { get; set; }
    /// <summary>The playbook that created the instance (name and id), if one did: what its prune goes by.</summary>
    public Model.InstanceOwner? Owner { get; set; }
    /// <summary>When the instance was created, UTC; written with second precision.</summary>
    public DateTime? Created { get; set; }
    /// <summary>The disk files VirtFleet created for this instance: the only ones it may ever delete.</summary>
    public List<string> Disks { get; set; } = [];

    /// <summary>The &lt;vf:instance&gt; element, as placed inside &lt;metadata&gt; (or given to virsh metadata --set).</summary>
    public XElement ToXml() =>
        new(Ns + "instance",
            new XAttribute(XNamespace.Xmlns + Prefix, NamespaceUri),
            new XElement(Ns + "id", InstanceId),
            Optional("image", Image),
            OsFamily is null && OsVariant is null ? null
                : new XElement(Ns + "os",
                    OsFamily is null ? null : new XAttribute("family", OsFamily),
                    OsVariant is null ? null : new XAttribute("variant", OsVariant)),
            Optional("type", InstanceType),
            Optional("keypair", KeyPair),
            List("networks", "network", Networks),
            List("securityGroups", "group", SecurityGroups),
            List("tags", "tag", Tags),
            Optional("spread", SpreadGroup),
            Owner is null ? null : new XElement(Ns + "owner", new XAttribute("playbook", Owner.Playbook), new XAttribute("id", Owner.Id)),
            Optional("created", Created?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
            List("disks", "disk", Disks));

    /// <summary>Reads our block from a &lt;vf:instance&gt; element; tolerant of missing parts.</summary>
    public static VfMetadata FromXml(XElement instance) => new()
    {
        InstanceId = instance.Element(Ns + "id")?.Value ?? "",
        Image = instance.Element(Ns + "image")?.Value,
        OsFamily = instance.Element(Ns + "os")?.Attribute("family")?.Value,
        OsVariant = instance.Element(Ns + "os")?.Attribute("variant")?.Value,
        InstanceType = instance.Element(Ns + "type")?.Value,
        KeyPair = instance.Element(Ns + "keypair")?.Value,
        Networks = Items(instance, "networks", "network"),
        SecurityGroups = Items(instance, "securityGroups", "group"),
        Tags = Items(instance, "tags", "tag"),
        SpreadGroup = instance.Element(Ns + "spread")?.Value,
        Owner = instance.Element(Ns + "owner") is { } owner && owner.Attribute("playbook")?.Value is { Length: > 0 } pb
                && owner.Attribute("id")?.Value is { Length: > 0 } id ? new Model.InstanceOwner(pb, id) : null,
        Created = DateTime.TryParse(instance.Element(Ns + "created")?.Value, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created) ? created : null,
        Disks = Items(instance, "disks", "disk"),
    };

    /// <summary>Our block inside a domain element, or null when the domain is not VirtFleet's.</summary>
    public static VfMetadata? FromDomain(XElement domain) =>
        domain.Element("metadata")?.Element(Ns + "instance") is { } instance ? FromXml(instance) : null;

    public VfMetadata Clone()
    {
        var copy = (VfMetadata)MemberwiseClone();
        copy.Networks = [.. Networks];
        copy.SecurityGroups = [.. SecurityGroups];
        copy.Tags = [.. Tags];
        copy.Disks = [.. Disks];
        return copy;
    }

    static XElement? Optional(string name, string? value) => value is null ? null : new XElement(Ns + name, value);

    static XElement? List(string name, string item, List<string> values) =>
        values.Count == 0 ? null : new XElement(Ns + name, values.Select(v => new XElement(Ns + item, v)));

    static List<string> Items(XElement instance, string name, string item) =>
        instance.Element(Ns + name)?.Elements(Ns + item).Select(e => e.Value).ToList() ?? [];
}
