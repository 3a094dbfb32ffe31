namespace VirtFleet.Model;

/// <summary>A hypervisor host as the inventory records it: how to reach it over SSH, or that it is the local machine.</summary>
public sealed class HostEntry
{
    public string Name { get; set; } = "";
    public string Address { get; set; } = "";
    public int Port { get; set; } = 22;
    public string User { get; set; } = "root";
    /// <summary>Private key file; null means the user's default keys (~/.ssh/id_ed25519, id_ecdsa, id_rsa).</summary>
    public string? KeyFile { get; set; }
    /// <summary>Run privileged commands through sudo -n (for non-root users).</summary>
    public bool Sudo { get; set; }
    public List<string> Tags { get; set; } = [];
    /// <summary>The machine VirtFleet runs on (Add-VfHost -Local): reached without SSH, as the current user (root, else
    /// through sudo -n); it has no address, user or key. Written only when true.</summary>
    [YamlDotNet.Serialization.YamlMember(DefaultValuesHandling = YamlDotNet.Serialization.DefaultValuesHandling.OmitDefaults)]
    public bool Local { get; set; }
    /// <summary>In maintenance (Set-VfHost -Maintenance): placement, moves and rebalancing never choose it as a destination.
    /// Written only when true, so inventories stay readable by builds that do not know it.</summary>
    [YamlDotNet.Serialization.YamlMember(DefaultValuesHandling = YamlDotNet.Serialization.DefaultValuesHandling.OmitDefaults)]
    public bool Maintenance { get; set; }

    /// <summary>
    /// How VirtFleet talks to the host's libvirtd: auto (native where it can, else virsh), native or virsh (Set-VfHost
    /// -LibvirtPath). Null: auto, or $env:VF_LIBVIRT. Written only when set.
    /// </summary>
    [YamlDotNet.Serialization.YamlMember(DefaultValuesHandling = YamlDotNet.Serialization.DefaultValuesHandling.OmitNull)]
    public string? Libvirt { get; set; }

    public override string ToString() => Name;

    private static readonly System.Text.RegularExpressions.Regex NamePattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$");
    private static readonly System.Text.RegularExpressions.Regex AddressPattern = new("^[A-Za-z0-9][A-Za-z0-9.:%-]{0,252}$");
    private static readonly System.Text.RegularExpressions.Regex UserPattern = new("^[A-Za-z_][A-Za-z0-9._-]{0,31}$");

    /// <summary>Allowlist checks: nothing that could be read as an option or shell text gets in.</summary>
    public void Validate()
    {
        Check(NamePattern, Name, "InvalidHostName", "host name", "letters, digits, '.', '_' and '-', starting with a letter or digit");
        foreach (var t in Tags) Check(NamePattern, t, "InvalidTag", "tag", "letters, digits, '.', '_' and '-'");
        if (Libvirt is not null && !Transport.LibvirtChoice.TryParse(Libvirt, out _))
            throw new VfException("InvalidLibvirtPath", FailureKind.InvalidArgument, $"'{Libvirt}' is not a libvirt path: use auto, native or virsh.", Name);
        if (Local)
        {
            if (Address is { Length: > 0 } || KeyFile is { Length: > 0 } || Sudo)
                throw new VfException("LocalHostWithAddress", FailureKind.InvalidArgument,
                    $"{Name} is the local machine (local: true) and is reached without SSH: it takes no address, key file or sudo setting " +
                    "(it runs as the current user, through sudo -n unless root).", Name);
            return;
        }
        Check(AddressPattern, Address, "InvalidHostAddress", "address", "an IP address or DNS name");
        Check(UserPattern, User, "InvalidUserName", "user name", "a POSIX user name");
        if (Port is < 1 or > 65535)
            throw new VfException("InvalidPort", FailureKind.InvalidArgument, $"Port {Port} is not between 1 and 65535.", Name);
    }

    private void Check(System.Text.RegularExpressions.Regex re, string value, string id, string what, string allowed)
    {
        if (!re.IsMatch(value ?? ""))
            throw new VfException(id, FailureKind.InvalidArgument, $"'{value}' is not a valid {what}: use {allowed}.", Name);
    }

    /// <summary>
    /// The name a local host gets when none is given: this machine's host name up to its first dot, when it is a valid host
    /// name; else null (the caller asks for -Name).
    /// </summary>
    public static string? LocalName(string machineName)
    {
        var name = machineName.Split('.')[0];
        return NamePattern.IsMatch(name) ? name : null;
    }

    public bool HasTag(string tag) => Tags.Any(t => string.Equals(t, tag, StringComparison.OrdinalIgnoreCase));
}
