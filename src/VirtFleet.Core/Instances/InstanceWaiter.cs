using VirtFleet.HostScripts;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>Waits on the host (one round trip) until instances run and, where they have a NIC, hold a DHCP lease.</summary>
public static class InstanceWaiter
{
    public static async Task<IReadOnlyDictionary<string, Instance>> WaitAsync(IRemoteHost host, IReadOnlyList<Instance> instances, int timeoutSeconds, CancellationToken ct)
    {
        if (instances.Count == 0) return new Dictionary<string, Instance>();
        var script = HostScript.Load("instance-wait").Set("wait_seconds", timeoutSeconds.ToString());
        foreach (var i in instances)
        {
            script.Call("vf_running", i.Name);
            foreach (var mac in i.MacAddresses) script.Call("vf_lease", mac);
        }
        await script.Call("exit", "0").Unlocked(TimeSpan.FromSeconds(timeoutSeconds + 30)).RunAsync(host, ct);
        var now = await InstanceReader.ReadAsync(host, ct);
        return now.Where(n => instances.Any(i => i.Name == n.Name)).ToDictionary(n => n.Name);
    }
}
