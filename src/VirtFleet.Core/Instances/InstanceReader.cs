using System.Runtime.CompilerServices;
using VirtFleet.HostScripts;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>
/// Reads every domain of a host in one round trip (instance-list.sh: `virsh list` and one virsh process that echoes a
/// marker, the state and the XML of each domain; DHCP leases from libvirt's dnsmasq status files), or through the
/// connection's long-lived virsh.
/// </summary>
public static class InstanceReader
{
    /// <summary>Every domain of a host and the DHCP leases, in one round trip (instance-list.sh).</summary>
    public static HostStep<IReadOnlyList<Instance>> ListStep() =>
        HostScript.Load("instance-list").Include("domains").Include("leases")
            .Reads(r => Parse(r.EnsureSuccess("listing domains", "ListDomainsFailed").Host.Name, r.Stdout, r.Markers));

    public static async Task<IReadOnlyList<Instance>> ReadAsync(IRemoteHost remote, CancellationToken ct)
    {
        // The native path once its tunnel is up; then the connection's interactive virsh once it is warm. The first listing
        // goes through the shell and then starts the host's chosen path in the background for the next ones.
        var libvirt = remote.Libvirt;
        if (libvirt.Path == LibvirtPath.Native || remote.VirshReady)
        {
            try
            {
                var read = await ReadThroughAsync(remote, libvirt, ct);
                // On virsh while the host's choice is native (its tunnel closed, or the choice changed): bring it up again.
                if (libvirt.Path == LibvirtPath.Virsh) remote.PrepareLibvirt();
                return read;
            }
            catch (NotSupportedException)
            {
                // No interactive virsh on this host after all: one shell round trip instead.
            }
            catch (VfException e) when (libvirt.Path == LibvirtPath.Native && e.Kind is FailureKind.ConnectionError or FailureKind.OperationTimeout)
            {
                // The tunnel broke (the host dropped it); the next listing tries again, this one goes through the shell.
            }
        }
        var list = await ListStep().RunAsync(remote, ct);
        // Started after the reply, so a one-shot listing does not share the host's CPU with it.
        remote.PrepareLibvirt();
        return list;
    }

    /// <summary>
    /// The fast paths (native, or the long-lived virsh): the domains from the host's libvirt and, in parallel on the shell,
    /// the DHCP leases (only when the host's domains had a NIC last time, or now).
    /// </summary>
    private static async Task<IReadOnlyList<Instance>> ReadThroughAsync(IRemoteHost remote, ILibvirtBackend libvirt, CancellationToken ct)
    {
        var hadNics = HadNics.TryGetValue(remote, out var flag) && flag.Value;
        var leases = hadNics ? DhcpLeases.ReadStep().RunAsync(remote, ct) : null;
        IReadOnlyList<LibvirtDomain> domains;
        try { domains = await libvirt.ListDomainsAsync(ct); }
        catch
        {
            if (leases is not null) _ = leases.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            throw;
        }
        var instances = domains.Select(d => FromDomain(remote.Host.Name, DomainInfo.Parse(d.Xml), d.State)).ToList();
        var nics = instances.Any(i => i.MacAddresses.Count > 0);
        HadNics.AddOrUpdate(remote, new StrongBox<bool>(nics));
        if (nics) AddAddresses(instances, await (leases ?? DhcpLeases.ReadStep().RunAsync(remote, ct)));
        else if (leases is not null) await leases;
        return instances;
    }

    /// <summary>Whether a connection's last listing had NICs: its lease read then starts with the domains' request.</summary>
    private static readonly ConditionalWeakTable<IRemoteHost, StrongBox<bool>> HadNics = new();

    /// <summary>
    /// <c>virsh domstats --state</c>: "Domain: 'NAME'" then "state.state=N" per domain; N (virDomainState) as
    /// the words <c>virsh domstate</c> prints.
    /// </summary>
    internal static Dictionary<string, string> ParseDomstats(string text)
    {
        string[] words = ["no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended"];
        var states = new Dictionary<string, string>();
        string? name = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("Domain: '") && line.EndsWith('\'') && line.Length > "Domain: ''".Length)
                name = line["Domain: '".Length..^1];
            else if (name is not null && line.StartsWith("state.state=") && int.TryParse(line["state.state=".Length..], out var n))
                states[name] = n >= 0 && n < words.Length ? words[n] : "";
        }
        return states;
    }

    /// <summary>The domains <c>vf_domains</c> printed (and, in a listing, the DHCP leases after them), with the run's markers.</summary>
    public static IReadOnlyList<Instance> Parse(string host, string output, HostMarkers markers)
    {
        var marker = markers["DOMAIN"];
        var at = output.IndexOf(marker + " leases", StringComparison.Ordinal);
        var instances = ParseDomains(at < 0 ? output : output[..at], markers).Select(d => FromDomain(host, d.Info, d.State)).ToList();
        if (at >= 0) AddAddresses(instances, DhcpLeases.Parse(output[(at + marker.Length + " leases".Length)..], markers));
        return instances;
    }

    /// <summary>
    /// Each domain's XML and state from <c>vf_domains</c>' output (domains.sh); domains that vanished meanwhile are skipped.
    /// Only the run's own marker starts a domain: a marker-like line in a domain's description is part of its XML.
    /// </summary>
    public static IEnumerable<(DomainInfo Info, string State)> ParseDomains(string output, HostMarkers markers) =>
        Sections(output, markers).Select(d => (DomainInfo.Parse(d.Xml), d.State));

    /// <summary><c>vf_domains</c>' output as domains with their XML text (VirshBackend).</summary>
    public static IEnumerable<LibvirtDomain> ParseDomainTexts(string output, HostMarkers markers) =>
        Sections(output, markers).Select(d => new LibvirtDomain(DomainInfo.Parse(d.Xml).Name, d.Uuid, d.State, d.Xml));

    private static IEnumerable<(Guid Uuid, string State, string Xml)> Sections(string output, HostMarkers markers)
    {
        foreach (var section in output.Split(markers["DOMAIN"] + " ").Skip(1))
        {
            // "<uuid>" then the state: virsh's own echo ends without a newline, so the state may follow at once.
            if (section.Length < 36 || !Guid.TryParse(section.AsSpan(0, 36), out var uuid)) continue;
            var lines = section[36..].TrimStart(' ').Split('\n', 3);
            var (state, xml) = lines[0].Trim().Length > 0
                ? (lines[0].Trim(), string.Join('\n', lines.Skip(1)))
                : (lines.Length > 1 ? lines[1].Trim() : "", lines.Length > 2 ? lines[2] : "");
            xml = xml.Trim();
            if (xml.Length == 0) continue; // vanished between list and dumpxml
            yield return (uuid, state, xml);
        }
    }

    private static void AddAddresses(IEnumerable<Instance> instances, Dictionary<string, string> leasesByMac)
    {
        foreach (var i in instances) i.Addresses.AddRange(i.MacAddresses.Where(leasesByMac.ContainsKey).Select(m => leasesByMac[m]));
    }

    public static Instance FromDomain(string host, DomainInfo d, string state)
    {
        var md = d.Metadata;
        return new Instance
        {
            Name = d.Name, Host = host, Uuid = d.Uuid, State = ParseState(state), DomainType = d.Type,
            Vcpus = d.Vcpus, MemoryMiB = d.MemoryMiB, IsVirtFleet = md is not null,
            InstanceId = md?.InstanceId, Image = md?.Image, OsFamily = md?.OsFamily, OsVariant = md?.OsVariant,
            InstanceType = md?.InstanceType, KeyPair = md?.KeyPair, Created = md?.Created, Owner = md?.Owner,
            Tags = md?.Tags.ToList() ?? [], SecurityGroups = md?.SecurityGroups.ToList() ?? [], SpreadGroup = md?.SpreadGroup, Networks = md?.Networks.ToList() ?? [], OwnedDisks = md?.Disks.ToList() ?? [],
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

}
