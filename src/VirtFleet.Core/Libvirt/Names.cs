using System.Text.RegularExpressions;

namespace VirtFleet.Libvirt;

/// <summary>Allowlists for names and paths that end up in domain XML and on host command lines.</summary>
public static partial class Names
{
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}\z")]
    private static partial Regex InstanceNamePattern();

    // Linux interface names: at most 15 bytes.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}\z")]
    private static partial Regex BridgeNamePattern();

    // Absolute; a conservative character set (no spaces, quotes or shell metacharacters); no '..' segment.
    [GeneratedRegex(@"^(?!.*/\.\.(/|\z))/[A-Za-z0-9_.+@=,:/-]*\z")]
    private static partial Regex HostPathPattern();

    /// <summary>Letters, digits, '-', '_', '.'; 1-63 characters; not starting with '-' or '.'.</summary>
    public static string ValidateInstanceName(string? name) =>
        Check(name, InstanceNamePattern(), "InvalidInstanceName",
            "Instance names use letters, digits, '-', '_' and '.', 1-63 characters, and do not start with '-' or '.'");

    /// <summary>
    /// A tag: free text (kept as XML text and passed quoted), 1-128 characters, no control characters,
    /// so "env=prod" or "a&lt;b" are fine and a newline is not.
    /// </summary>
    public static string ValidateTag(string? tag) =>
        string.IsNullOrEmpty(tag) || tag.Length > 128 || tag.Any(char.IsControl)
            ? throw new VfException("InvalidTag", FailureKind.InvalidArgument,
                $"Tag '{tag}' must be 1-128 characters without control characters.", tag)
            : tag;

    /// <summary>A libvirt network name: the same rule as instance names.</summary>
    public static string ValidateNetworkName(string? name) =>
        Check(name, InstanceNamePattern(), "InvalidNetworkName",
            "Network names use letters, digits, '-', '_' and '.', 1-63 characters, and do not start with '-' or '.'");

    /// <summary>A host bridge interface name: as instance names, at most 15 characters.</summary>
    public static string ValidateBridgeName(string? name) =>
        Check(name, BridgeNamePattern(), "InvalidBridgeName",
            "Bridge names use letters, digits, '-', '_' and '.', 1-15 characters, and do not start with '-' or '.'");

    /// <summary>An absolute path on the host from a conservative character set, without '..' segments.</summary>
    public static string ValidateHostPath(string? path) =>
        Check(path, HostPathPattern(), "InvalidHostPath",
            "Host paths are absolute, use letters, digits and _ . + @ = , : / -, and contain no '..' segment");

    static string Check(string? value, Regex pattern, string errorId, string rule)
    {
        if (value is null || !pattern.IsMatch(value))
            throw new VfException(errorId, FailureKind.InvalidArgument, $"'{value}' is not allowed. {rule}.", value);
        return value;
    }
}
