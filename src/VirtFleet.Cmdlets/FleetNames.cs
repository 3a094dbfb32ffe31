using System.Collections.Concurrent;
using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets;

/// <summary>Reads the fleet's networking definitions over open connections when the session has not read them yet.</summary>
internal static class FleetNames
{
    public static KnownNames? Networking()
    {
        if (Completion.Session() is not { } session) return null;
        if (session.Known.Networks is null)
        {
            var docs = new ConcurrentBag<NetworkStore.HostDocs>();
            Completion.ReadOpenConnections(session, async (h, ct) => docs.Add(await NetworkStore.ReadAsync(h, ct)));
            if (!docs.IsEmpty)
                try { session.Known.Saw(FleetNetworkState.From(docs.ToList())); }
                catch (Exception) { }
        }
        return session.Known;
    }
}
