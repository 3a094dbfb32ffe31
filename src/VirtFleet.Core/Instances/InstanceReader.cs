using System.Text.Json;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>
/// Reads every domain of a host in one round trip: `virsh list --uuid` and one virsh process that
/// echoes a marker, the state and the XML of each domain; DHCP leases from libvirt's dnsmasq status files.
/// </summary>
public static class InstanceReader
{
    private const string Marker = "@@VF-DOMAIN@@";

    // Fixed text; UUIDs from libvirt are the only values spliced, and they are checked to be hex.
    private const string Script = """
        uuids=$(virsh -q -c qemu:///system list --all --uuid) || exit 1
        cmds=""
        for u in $uuids; do
          case "$u" in *[!0-9a-f-]*) continue ;; esac
          cmds="$cmds echo MARKER $u; domstate $u; dumpxml $u;"
        done
        [ -n "$cmds" ] && virsh -q -c qemu:///system "$cmds"
        echo MARKER leases
        cat /var/lib/libvirt/dnsmasq/*.status 2>/dev/null
        exit 0
        """;

    /// <summary>
    /// Shell text that prints the named domains in <see cref="Parse"/>'s format (state and XML), skipping
    /// those that do not exist; appended to scripts that change domains so they report in the same trip.
    /// Expects the script's V function (virsh on qemu:///system).
    /// </summary>
    public static string ReadBackScript(IEnumerable<string> names) =>
        "for n in " + string.Join(' ', names.Select(ShellQuote.Quote)) +
        "; do u=$(V domuuid \"$n\" 2>/dev/null) || continue; echo \"" + Marker + " $u\"; V domstate \"$n\"; V dumpxml \"$n\"; done\n";

    /// <summary>The listing script; it ends the shell text it is appended to (exit 0).</summary>
    public static string ListScript => Script.Replace("MARKER", Marker);

    public static async Task<IReadOnlyList<Instance>> ReadAsync(IRemoteHost remote, CancellationToken ct)
    {
        // The interactive virsh takes seconds to answer its first request on some hosts, so it is used
        // only once it is warm; the first listing goes through the shell and starts it in the background.
        if (remote.VirshReady)
        {
            try
            {
                return await ReadThroughVirshAsync(remote, ct);
            }
            catch (NotSupportedException)
            {
                // No interactive virsh on this host after all: one shell round trip instead.
            }
        }
        else remote.PrepareVirsh();
        var r = await remote.RunAsync(ListScript, ct);
        r.EnsureSuccess(remote.Host.Name, "listing domains", "ListDomainsFailed");
        return Parse(remote.Host.Name, r.Stdout);
    }

    /// <summary>
    /// The fast path: list, then state and XML of every domain, through the connection's long-lived virsh
    /// (no process starts), then the DHCP leases only when some domain has a NIC.
    /// </summary>
    private static async Task<IReadOnlyList<Instance>> ReadThroughVirshAsync(IRemoteHost remote, CancellationToken ct)
    {
        var uuids = (await remote.VirshAsync(["list --all --uuid"], ct))[0]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(u => Guid.TryParse(u, out _)).ToList();
        if (uuids.Count == 0) return [];
        var replies = await remote.VirshAsync(uuids.SelectMany(u => new[] { "domstate " + u, "dumpxml " + u }).ToList(), ct);
        var instances = new List<Instance>();
        for (var i = 0; i < uuids.Count; i++)
        {
            var xml = replies[2 * i + 1].Trim();
            if (xml.Length == 0) continue; // vanished between list and dumpxml
            instances.Add(FromDomain(remote.Host.Name, DomainInfo.Parse(xml), replies[2 * i].Trim()));
        }
        if (instances.Any(i => i.MacAddresses.Count > 0))
        {
            var leases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            ReadLeases((await remote.RunAsync("cat /var/lib/libvirt/dnsmasq/*.status 2>/dev/null; exit 0", ct)).Stdout, leases);
            foreach (var i in instances) i.Addresses.AddRange(i.MacAddresses.Where(leases.ContainsKey).Select(m => leases[m]));
        }
        return instances;
    }

    public static IReadOnlyList<Instance> Parse(string host, string output)
    {
        var sections = output.Split(Marker + " ");
        var leases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var instances = new List<Instance>();
        foreach (var section in sections.Skip(1))
        {
            if (section.StartsWith("leases")) { ReadLeases(section["leases".Length..], leases); continue; }
            // "<uuid>" then the state: virsh's own echo ends without a newline, so the state may follow at once.
            if (section.Length < 36 || !Guid.TryParse(section.AsSpan(0, 36), out _)) continue;
            var rest = section[36..].TrimStart(' ');
            var lines = rest.Split('\n', 3);
            var (state, xml) = lines[0].Trim().Length > 0
                ? (lines[0].Trim(), string.Join('\n', lines.Skip(1)))
                : (lines.Length > 1 ? lines[1].Trim() : "", lines.Length > 2 ? lines[2] : "");
            xml = xml.Trim();
            if (xml.Length == 0) continue; // vanished between list and dumpxml
            instances.Add(FromDomain(host, DomainInfo.Parse(xml), state));
        }
        foreach (var i in instances)
            i.Addresses.AddRange(i.MacAddresses.Where(leases.ContainsKey).Select(m => leases[m]));
        return instances;
    }

    public static Instance FromDomain(string host, DomainInfo d, string state)
    {
        var md = d.Metadata;
        return new Instance
        {
            Name = d.Name, Host = host, Uuid = d.Uuid, State = ParseState(state), DomainType = d.Type,
            Vcpus = d.Vcpus, MemoryMiB = d.MemoryMiB, IsVirtFleet = md is not null,
            InstanceId = md?.InstanceId, Image = md?.Image, OsFamily = md?.OsFamily, OsVariant = md?.OsVariant,
            InstanceType = md?.InstanceType, KeyPair = md?.KeyPair, Created = md?.Created,
            Tags = md?.Tags.ToList() ?? [], SecurityGroups = md?.SecurityGroups.ToList() ?? [], Networks = md?.Networks.ToList() ?? [], OwnedDisks = md?.Disks.ToList() ?? [],
            MacAddresses = d.Interfaces.Select(n => n.Mac).OfType<string>().Select(m => m.ToLowerInvariant()).ToList(),
        };
    }

    public static InstanceState ParseState(string virshState) => virshState switch
    {
        "running" => InstanceState.Running,
        "shut off" => InstanceState.Stopped,
        "paused" => InstanceState.Paused,
        "in shutdown" => InstanceState.ShuttingDown,
        "crashed" => InstanceState.Crashed,
        "pmsuspended" => InstanceState.Suspended,
        "blocked" or "idle" => InstanceState.Blocked,
        _ => InstanceState.Unknown,
    };

    /// <summary>libvirt's dnsmasq status files: JSON arrays of {ip-address, mac-address, expiry-time}.</summary>
    private static void ReadLeases(string text, Dictionary<string, string> leases)
    {
        // Several files are concatenated: read each top-level JSON array in turn.
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.StartArray) continue;
                using var doc = JsonDocument.ParseValue(ref reader);
                foreach (var lease in doc.RootElement.EnumerateArray())
                    if (lease.TryGetProperty("mac-address", out var mac) && lease.TryGetProperty("ip-address", out var ip)
                        && mac.GetString() is { } m && ip.GetString() is { } a)
                        leases[m.ToLowerInvariant()] = a;
            }
        }
        catch (JsonException) { /* a file being rewritten: leases are best effort */ }
    }
}
