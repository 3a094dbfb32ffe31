namespace VirtFleet.Model;

/// <summary>A hypervisor host as the inventory records it: how to reach it over SSH.</summary>
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

    public override string ToString() => Name;

    public bool HasTag(string tag) => Tags.Any(t => string.Equals(t, tag, StringComparison.OrdinalIgnoreCase));
}
