using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.KeyPairs;
using VirtFleet.Networking;
using VirtFleet.Transport;

namespace VirtFleet.Playbooks;

/// <summary>One host's part of a FleetState.</summary>
public sealed record HostState(string Host, IReadOnlyList<Model.Instance> Instances, IReadOnlyList<string> Images,
    IReadOnlyList<string> Networks, IReadOnlyList<SecurityGroup> SecurityGroups)
{
    /// <summary>The host's copies of the fleet's networking documents (VirtFleet networks, public addresses).</summary>
    public NetworkStore.HostDocs? Docs { get; init; }
    /// <summary>The encrypted administrator passwords the host's Windows instances wrote to their consoles, by instance name.</summary>
    public IReadOnlyDictionary<string, Windows.PasswordData> Passwords { get; init; } = new Dictionary<string, Windows.PasswordData>();
}

/// <summary>Reads what a playbook is compared with from the hosts themselves (one round trip each) and assembles the snapshot.</summary>
public static class FleetStateReader
{
    /// <summary>One host's part, read in one round trip (fleet-state.sh).</summary>
    public static HostStep<HostState> ReadStep() =>
        HostScript.Load("fleet-state").Include("docs").Include("domains").Include("leases").Include("passwords").Reads(r =>
        {
            r.EnsureSuccess("reading playbook state");
            var host = r.Host.Name;
            var sections = r.Sections();
            static List<string> Lines(string? text) =>
                (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            var groupsJson = sections.GetValueOrDefault("groups", "").Trim();
            var domains = InstanceReader.Parse(host, sections.GetValueOrDefault("domains", ""), r.Markers);
            return new HostState(host, domains, Lines(sections.GetValueOrDefault("images")), Lines(sections.GetValueOrDefault("networks")),
                groupsJson.Length == 0 ? [] : SecurityGroupStore.FromJson(groupsJson, host))
            {
                Docs = NetworkStore.ParseDocs(host, sections.GetValueOrDefault("docs", ""), r.Markers),
                Passwords = Operations.PasswordOperations.Parse(sections.GetValueOrDefault("passwords", ""), r.Markers)
                    .Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal),
            };
        });

    public static Task<HostState> ReadAsync(IRemoteHost host, CancellationToken ct) => ReadStep().RunAsync(host, ct);

    public static FleetState Assemble(IEnumerable<HostState> hosts)
    {
        var list = hosts.ToList();
        // VirtFleet's networks (Bridged ones have no libvirt network) and public addresses, from the documents the hosts keep.
        var docs = FleetNetworkState.From(list.Where(h => h.Docs is not null).Select(h => h.Docs!).ToList());
        var answered = list.Select(h => h.Host).ToHashSet(StringComparer.Ordinal);
        var vfNetworks = docs.Networks.SelectMany(n => n.Hosts.Where(answered.Contains).Select(h =>
            new FleetNetwork(h, n.Name, n.Mode, n.Subnet?.ToString(), n.Mode == NetworkMode.Bridged ? n.Bridge : null))).ToList();
        return new FleetState
        {
            Hosts = list.Select(h => h.Host).Order(StringComparer.Ordinal).ToList(),
            Instances = list.SelectMany(h => h.Instances).ToList(),
            Passwords = list.SelectMany(h => h.Passwords.Select(p => new FleetPassword(h.Host, p.Key, p.Value.UserName, p.Value.EncryptedPassword))).ToList(),
            Images = list.SelectMany(h => h.Images.Select(i => new FleetImage(h.Host, i))).ToList(),
            KeyPairs = KeyPairStore.List().Select(k => k.Name).ToList(),
            Networks = vfNetworks.Concat(list.SelectMany(h => h.Networks
                .Where(n => !vfNetworks.Any(v => v.Host == h.Host && v.Name == n)).Select(n => new FleetNetwork(h.Host, n)))).ToList(),
            Addresses = docs.Addresses.Select(a => new FleetAddress(a.Address, a.Instance)).ToList(),
            SecurityGroups = list.SelectMany(h => h.SecurityGroups.Select(g => new FleetSecurityGroup(h.Host, g.Name, g.Rules)
            {
                Members = h.Instances.Where(i => i.SecurityGroups.Contains(g.Name)).Select(i => i.Name).ToList(),
            })).ToList(),
        };
    }
}
