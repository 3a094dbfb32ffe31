using VirtFleet.Libvirt;

namespace VirtFleet.Networking;

/// <summary>
/// A named set of inbound allow rules. An instance in one or more groups admits what any of its
/// groups allows (plus replies to its own connections) and nothing else. Immutable: With/Without
/// return a changed copy. Rules keep their order; a duplicate rule is dropped.
/// </summary>
public sealed class SecurityGroup
{
    public string Name { get; }
    public string Description { get; }
    public IReadOnlyList<SecurityRule> Rules { get; }

    public SecurityGroup(string name, string? description = null, IEnumerable<SecurityRule>? rules = null)
    {
        Name = ValidateName(name);
        Description = description ?? "";
        if (Description.Length > 255 || Description.Any(char.IsControl))
            throw SecurityRule.Invalid("InvalidSecurityGroupDescription",
                $"The description of security group '{name}' must be at most 255 characters without control characters.");
        Rules = (rules ?? []).Distinct().ToList();
    }

    /// <summary>The instance-name allowlist: letters, digits, '-', '_', '.'; 1-63 characters; not starting with '-' or '.'.</summary>
    public static string ValidateName(string? name)
    {
        try { return Names.ValidateInstanceName(name); }
        catch (VfException e) { throw new VfException("InvalidSecurityGroupName", FailureKind.InvalidArgument, "Security group: " + e.Message, name, e); }
    }

    public SecurityGroup With(params IEnumerable<SecurityRule> rules) => new(Name, Description, Rules.Concat(rules));

    public SecurityGroup Without(params IEnumerable<SecurityRule> rules) => new(Name, Description, Rules.Except(rules));

    public SecurityGroup WithDescription(string? description) => new(Name, description, Rules);

    public override string ToString() => Name;
}
