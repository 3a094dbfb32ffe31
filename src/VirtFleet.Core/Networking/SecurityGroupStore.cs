using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VirtFleet.Hosts;
using VirtFleet.Transport;

namespace VirtFleet.Networking;

/// <summary>A host's security groups, the version (SHA-256 of the file, "none" when absent) they were read at, and their generation.</summary>
public sealed record StoredGroups(IReadOnlyList<SecurityGroup> Groups, string Version, long Generation = 0);

/// <summary>
/// The security groups of a host, kept on the host itself as a small JSON document that a person can
/// read and edit (rules in their compact form), re-validated whenever it is read:
/// <code>
/// { "version": 1, "generation": 7, "groups": [ { "name": "web", "description": "public web",
///     "rules": [ "allow tcp 80 from 0.0.0.0/0", "allow icmp from 203.0.113.0/24" ] } ] }
/// </code>
/// Which instances are in a group is recorded in each domain's VirtFleet metadata, not here. Every write
/// raises the generation: the copy with the highest generation is the fleet's, so a host that missed a
/// revoke never brings the revoked rule back (a document without one is generation 0).
/// A save names the version it read; when another run changed the file since, it is refused
/// (read-modify-write without lost updates), under the host lock.
/// </summary>
public static class SecurityGroupStore
{
    public const string DocumentPath = HostPaths.SecurityGroupsDocument;
    public const string Absent = "none";

    sealed record Document([property: JsonPropertyOrder(-2)] int Version, List<GroupEntry> Groups)
    {
        /// <summary>Raised by every write; a document written before generations existed reads as 0.</summary>
        [JsonPropertyOrder(-1)] public long Generation { get; init; }
    }
    sealed record GroupEntry(string Name, string? Description = null, List<string>? Rules = null);

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The document, groups sorted by name, with a final newline.</summary>
    public static string ToJson(IEnumerable<SecurityGroup> groups, long generation = 0)
    {
        var list = groups.OrderBy(g => g.Name, StringComparer.Ordinal).ToList();
        if (list.GroupBy(g => g.Name).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw SecurityRule.Invalid("DuplicateSecurityGroup", $"Security group '{dup.Key}' is given twice.");
        var doc = new Document(1, list.Select(g => new GroupEntry(g.Name, g.Description.Length == 0 ? null : g.Description,
            g.Rules.Select(r => r.ToString()).ToList())).ToList()) { Generation = generation };
        return JsonSerializer.Serialize(doc, Json) + "\n";
    }

    public static IReadOnlyList<SecurityGroup> FromJson(string json, string? host = null) => Read(json, host).Groups;

    /// <summary>The groups and the generation of a document.</summary>
    public static (IReadOnlyList<SecurityGroup> Groups, long Generation) Read(string json, string? host = null)
    {
        try
        {
            var doc = JsonSerializer.Deserialize<Document>(json, Json) ?? throw new JsonException("the document is empty");
            if (doc.Version != 1) throw new JsonException($"version {doc.Version} is not supported (this VirtFleet reads version 1)");
            var groups = doc.Groups.Select(g => new SecurityGroup(g.Name, g.Description, (g.Rules ?? []).Select(SecurityRule.Parse))).ToList();
            ToJson(groups); // the same checks as a save: no duplicate names
            return (groups, doc.Generation);
        }
        catch (Exception e) when (e is JsonException or VfException)
        {
            throw new VfException("InvalidSecurityGroupDocument", FailureKind.InvalidData,
                $"{host}{(host is null ? "" : ": ")}{DocumentPath} is not a valid security group document: {e.Message}", host, e);
        }
    }

    public static async Task<StoredGroups> LoadAsync(IRemoteHost host, CancellationToken ct)
    {
        var r = (await HostScripts.HostScript.Load("document-read").Set("file", DocumentPath).RunAsync(host, ct)).EnsureSuccess("reading security groups");
        var nl = r.Stdout.IndexOf('\n');
        var version = (nl < 0 ? r.Stdout : r.Stdout[..nl]).Trim();
        if (version == Absent) return new StoredGroups([], version);
        var (groups, generation) = Read(r.Stdout[(nl + 1)..], host.Host.Name);
        return new StoredGroups(groups, version, generation);
    }

    /// <summary>
    /// Writes the groups at <paramref name="generation"/> (one above the newest the writer read) when the file is
    /// still at <paramref name="expectedVersion"/>; returns the new version.
    /// </summary>
    public static Task<string> SaveAsync(IRemoteHost host, IEnumerable<SecurityGroup> groups, long generation, string expectedVersion, CancellationToken ct)
    {
        return NetworkStore.WriteDocumentAsync(host, DocumentPath, Encoding.UTF8.GetBytes(ToJson(groups, generation)), expectedVersion,
            "SecurityGroupsChanged", "security groups on this host changed since they were read; read them again", "writing security groups", ct);
    }
}
