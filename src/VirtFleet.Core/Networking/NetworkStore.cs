using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VirtFleet.Hosts;
using VirtFleet.Transport;

namespace VirtFleet.Networking;

/// <summary>
/// The fleet's networking definitions as every host keeps them under /var/lib/libvirt/virtfleet/network/:
/// networks.json (networks, gateways, address reservations), addresses.json (the public address pool and
/// its addresses) and groups.json (<see cref="SecurityGroupStore"/>). Each is written to every host of the
/// inventory; a write names the SHA-256 of the copy it read on that host and is refused there when another
/// run changed it since (under the host lock). networks.json and addresses.json carry a generation that
/// every write raises: the copy with the highest generation is the fleet's (a host that was down during a
/// write is behind and catches up with the next write or a repair). groups.json carries one too, and wins the
/// same way: an older copy never outvotes a newer one, however many hosts hold it.
/// </summary>
public static class NetworkStore
{
    public const string Folder = HostPaths.Network;
    public const string NetworksFile = "networks.json";
    public const string AddressesFile = "addresses.json";
    public const string GroupsFile = "groups.json";

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, RespectNullableAnnotations = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    sealed record NetworksDoc(int Version, long Generation, List<NetworkEntry> Networks);
    sealed record NetworkEntry(string Name, NetworkMode Mode, string? Subnet, List<string> Hosts, bool Span, int Id,
        string? Bridge = null, string? Description = null, Dictionary<string, string>? Gateways = null, List<AddressReservation>? Reservations = null);
    sealed record AddressesDoc(int Version, long Generation, List<string> Pool, List<AddressEntry> Addresses);
    sealed record AddressEntry(string Address, string? Interface = null, string? Instance = null, string? InstanceId = null,
        string? Host = null, string? Network = null, string? PrivateAddress = null);

    public static string NetworksToJson(IEnumerable<VfNetwork> networks, long generation)
    {
        var list = networks.OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        CheckNetworks(list);
        var doc = new NetworksDoc(1, generation, list.Select(n => new NetworkEntry(n.Name, n.Mode, n.Subnet?.ToString(), [.. n.Hosts], n.Span, n.Id,
            n.Mode == NetworkMode.Bridged ? n.Bridge : null, n.Description.Length == 0 ? null : n.Description,
            n.IsLibvirtNetwork ? new Dictionary<string, string>(n.Gateways) : null,
            n.Reservations.Count == 0 ? null : [.. n.Reservations.OrderBy(r => VfNetwork.ToUInt(IPAddress.Parse(r.Address)))])).ToList());
        return JsonSerializer.Serialize(doc, Json) + "\n";
    }

    public static (IReadOnlyList<VfNetwork> Networks, long Generation) NetworksFromJson(string json, string? host = null) => Read(host, NetworksFile, () =>
    {
        var doc = JsonSerializer.Deserialize<NetworksDoc>(json, Json) ?? throw new JsonException("the document is empty");
        if (doc.Version != 1) throw new JsonException($"version {doc.Version} is not supported");
        var list = doc.Networks.Select(n => new VfNetwork(n.Name, n.Mode, n.Subnet is null ? null : VfNetwork.ParseSubnet(n.Subnet), n.Hosts, n.Span, n.Id,
            n.Bridge, n.Description, n.Gateways, n.Reservations)).ToList();
        CheckNetworks(list);
        return ((IReadOnlyList<VfNetwork>)list, doc.Generation);
    });

    /// <summary>Names, ids, subnets of libvirt networks, and reserved addresses/MACs are unique fleet-wide.</summary>
    public static void CheckNetworks(IReadOnlyList<VfNetwork> list)
    {
        Dup(list.Select(n => n.Name), "network name");
        Dup(list.Select(n => n.Id.ToString()), "network id");
        Dup(list.SelectMany(n => n.Reservations).Select(r => r.Mac), "reserved MAC address");
        var libvirt = list.Where(n => n.IsLibvirtNetwork).ToList();
        for (var i = 0; i < libvirt.Count; i++)
            for (var j = i + 1; j < libvirt.Count; j++)
                if (Overlaps(libvirt[i].Subnet!.Value, libvirt[j].Subnet!.Value))
                    throw new VfException("OverlappingSubnets", FailureKind.InvalidArgument,
                        $"Networks '{libvirt[i].Name}' ({libvirt[i].Subnet}) and '{libvirt[j].Name}' ({libvirt[j].Subnet}) overlap.", libvirt[j].Name);
    }

    public static bool Overlaps(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    static void Dup(IEnumerable<string> values, string what)
    {
        if (values.GroupBy(v => v, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } d)
            throw new VfException("DuplicateNetworkEntry", FailureKind.InvalidArgument, $"The {what} '{d.Key}' is used twice.", d.Key);
    }

    public static string AddressesToJson(IEnumerable<AddressRange> pool, IEnumerable<PublicAddress> addresses, long generation)
    {
        var list = addresses.OrderBy(a => VfNetwork.ToUInt(IPAddress.Parse(a.Address))).ToList();
        Dup(list.Select(a => a.Address), "public address");
        var doc = new AddressesDoc(1, generation, pool.Select(p => p.ToString()).ToList(), list.Select(a =>
            new AddressEntry(a.Address, a.Interface, a.Instance, a.InstanceId, a.Host, a.Network, a.PrivateAddress)).ToList());
        return JsonSerializer.Serialize(doc, Json) + "\n";
    }

    public static (IReadOnlyList<AddressRange> Pool, IReadOnlyList<PublicAddress> Addresses, long Generation) AddressesFromJson(string json, string? host = null) =>
        Read(host, AddressesFile, () =>
        {
            var doc = JsonSerializer.Deserialize<AddressesDoc>(json, Json) ?? throw new JsonException("the document is empty");
            if (doc.Version != 1) throw new JsonException($"version {doc.Version} is not supported");
            var list = doc.Addresses.Select(a => new PublicAddress(a.Address, a.Interface, a.Instance, a.InstanceId, a.Host, a.Network, a.PrivateAddress)).ToList();
            Dup(list.Select(a => a.Address), "public address");
            return ((IReadOnlyList<AddressRange>)doc.Pool.Select(AddressRange.Parse).ToList(), (IReadOnlyList<PublicAddress>)list, doc.Generation);
        });

    static T Read<T>(string? host, string file, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is JsonException or VfException or FormatException or NotSupportedException)
        {
            throw new VfException("InvalidNetworkDocument", FailureKind.InvalidData,
                $"{host}{(host is null ? "" : ": ")}{Folder}/{file} is not valid: {e.Message}", host, e);
        }
    }

    // ---------------------------------------------------------------- on the hosts

    /// <summary>The version of a document's text: its SHA-256 as the hosts compute it.</summary>
    public static string VersionOf(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>One file as one host holds it: its version (SHA-256, or "none") and text.</summary>
    public sealed record HostCopy(string Host, string Version, string Text);

    /// <summary>The three documents of one host.</summary>
    public sealed record HostDocs(string Host, HostCopy Networks, HostCopy Addresses, HostCopy Groups);

    /// <summary>The three documents of a host (docs-read.sh), as a typed step of a <see cref="HostScripts.HostBatch"/>.</summary>
    public static HostScripts.HostStep<HostDocs> ReadStep() =>
        HostScripts.HostScript.Load("docs-read").Include("docs")
            .Reads(r => ParseDocs(r.Host.Name, r.EnsureSuccess("reading network definitions").Stdout, r.Markers));

    public static Task<HostDocs> ReadAsync(IRemoteHost host, CancellationToken ct) => ReadStep().RunAsync(host, ct);

    /// <summary>The documents docs.sh's <c>vf_docs</c> printed, with the run's markers.</summary>
    public static HostDocs ParseDocs(string host, string stdout, HostScripts.HostMarkers markers)
    {
        var copies = new Dictionary<string, HostCopy>();
        foreach (var part in ("\n" + stdout).Split("\n" + markers["DOC"] + " ").Skip(1))
        {
            var nl = part.IndexOf('\n');
            if (nl < 0) continue;
            var file = part[..nl].Trim();
            var rest = part[(nl + 1)..];
            var nl2 = rest.IndexOf('\n');
            var version = (nl2 < 0 ? rest : rest[..nl2]).Trim();
            copies[file] = new HostCopy(host, version, version == SecurityGroupStore.Absent || nl2 < 0 ? "" : rest[(nl2 + 1)..]);
        }
        HostCopy Get(string f) => copies.GetValueOrDefault(f) ?? new HostCopy(host, SecurityGroupStore.Absent, "");
        return new HostDocs(host, Get(NetworksFile), Get(AddressesFile), Get(GroupsFile));
    }

    /// <summary>Writes one document to a host when its copy is still at <paramref name="expectedVersion"/>.</summary>
    public static Task<string> WriteAsync(IRemoteHost host, string file, string text, string expectedVersion, CancellationToken ct)
    {
        if (file is not (NetworksFile or AddressesFile or GroupsFile)) throw new ArgumentOutOfRangeException(nameof(file));
        return WriteDocumentAsync(host, Folder + "/" + file, Encoding.UTF8.GetBytes(text), expectedVersion,
            "NetworkDocumentChanged", file + " on this host changed since it was read; run the command again", "writing " + file, ct);
    }

    /// <summary>
    /// Replaces a document under the host lock, atomically, when its copy still hashes to <paramref name="expectedVersion"/>
    /// ("none" = absent); returns the new version. A held lock is HostLocked, a changed copy <paramref name="changedId"/>.
    /// </summary>
    internal static async Task<string> WriteDocumentAsync(IRemoteHost host, string path, byte[] bytes, string expectedVersion,
        string changedId, string changedMessage, string what, CancellationToken ct)
    {
        var r = await HostScripts.HostScript.Load("document-write").Set("file", path).Set("expected", expectedVersion).Set("changed", changedMessage)
            .Input(bytes).Locked().RunAsync(host, ct);
        if (r.ExitCode == HostScripts.HostExit.Changed)
            throw new VfException(changedId, FailureKind.ResourceUnavailable, $"{host.Host.Name}: {r.Stderr.Trim()}", host.Host.Name);
        r.EnsureSuccess(what);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
