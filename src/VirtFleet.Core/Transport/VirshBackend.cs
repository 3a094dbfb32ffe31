using System.Runtime.CompilerServices;
using VirtFleet.HostScripts;
using VirtFleet.Instances;

namespace VirtFleet.Transport;

/// <summary>
/// A host's libvirt through virsh on the host, over its pooled connection: the long-lived interactive virsh once it is
/// warm (no process start per request), else one shell round trip (domains.sh).
/// </summary>
public sealed class VirshBackend(IRemoteHost remote) : ILibvirtBackend
{
    public string HostName => remote.Host.Name;
    public LibvirtPath Path => LibvirtPath.Virsh;

    /// <summary>The domains each connection listed last time, asked for in the same request as the next list.</summary>
    private static readonly ConditionalWeakTable<IRemoteHost, string[]> LastListed = new();

    public async Task<IReadOnlyList<LibvirtDomain>> ListDomainsAsync(CancellationToken ct)
    {
        if (remote.VirshReady)
        {
            try { return await ListThroughVirshAsync(ct); }
            catch (NotSupportedException) { /* no interactive virsh on this host after all */ }
        }
        return await ReadStep([]).RunAsync(remote, ct);
    }

    public async Task<LibvirtDomain?> GetDomainAsync(string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var found = await ReadStep([name]).RunAsync(remote, ct);
        return found.FirstOrDefault(d => d.Name == name);
    }

    public async Task ActAsync(string name, LibvirtAction action, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var verb = action.ToString().ToLowerInvariant();
        HostReply reply;
        try { reply = await HostScript.Load("domain-act").Args(verb, name).RunAsync(remote, ct); }
        finally { remote.LibvirtChanged(); }
        if (reply.Succeeded) return;
        var said = reply.Stderr.Trim();
        throw said.Contains("failed to get domain", StringComparison.OrdinalIgnoreCase) || said.Contains("Domain not found", StringComparison.OrdinalIgnoreCase)
            ? new VfException("LibvirtDomainNotFound", FailureKind.ObjectNotFound, $"{HostName}: {verb} {name}: {said}", name)
            : new VfException("LibvirtOperationInvalid", FailureKind.InvalidOperation, $"{HostName}: {verb} {name}: {said}", name);
    }

    /// <summary>The named domains (all when none is named) in one round trip (domain-read.sh).</summary>
    public static HostStep<IReadOnlyList<LibvirtDomain>> ReadStep(IReadOnlyList<string> names) =>
        HostScript.Load("domain-read").Include("domains").Args(names)
            .Reads(r => (IReadOnlyList<LibvirtDomain>)InstanceReader.ParseDomainTexts(
                r.EnsureSuccess("listing domains", "ListDomainsFailed").Stdout, r.Markers).ToList());

    /// <summary>
    /// Through the connection's long-lived virsh: the list, every state in one libvirt call (domstats), and the XML of the
    /// domains listed last time, all in one request, so an unchanged host answers in one; new domains take a second.
    /// </summary>
    private async Task<IReadOnlyList<LibvirtDomain>> ListThroughVirshAsync(CancellationToken ct)
    {
        var guess = LastListed.TryGetValue(remote, out var last) ? last : [];
        var replies = await remote.VirshAsync(["list --all --uuid --name", "domstats --state", .. guess.Select(u => "dumpxml " + u)], ct);
        var listed = replies[0].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 2)).Where(p => p.Length == 2 && Guid.TryParse(p[0], out _)).ToList();
        var states = InstanceReader.ParseDomstats(replies[1]);
        var xml = new Dictionary<string, string>();
        for (var i = 0; i < guess.Length; i++) xml[guess[i]] = replies[2 + i];
        var added = listed.Select(p => p[0]).Where(u => !xml.ContainsKey(u)).ToList();
        if (added.Count > 0)
        {
            var more = await remote.VirshAsync(added.Select(u => "dumpxml " + u).ToList(), ct);
            for (var i = 0; i < added.Count; i++) xml[added[i]] = more[i];
        }
        LastListed.AddOrUpdate(remote, listed.Select(p => p[0]).ToArray());
        var domains = new List<LibvirtDomain>(listed.Count);
        foreach (var p in listed)
        {
            var text = xml[p[0]].Trim();
            if (text.Length == 0) continue; // vanished between list and dumpxml
            domains.Add(new LibvirtDomain(p[1], Guid.Parse(p[0]), states.GetValueOrDefault(p[1], ""), text));
        }
        return domains;
    }
}
