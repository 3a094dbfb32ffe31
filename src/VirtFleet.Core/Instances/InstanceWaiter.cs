using System.Text;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>Waits on the host (one round trip) until instances run and, where they have a NIC, hold a DHCP lease.</summary>
public static class InstanceWaiter
{
    public static async Task<IReadOnlyDictionary<string, Instance>> WaitAsync(IRemoteHost host, IReadOnlyList<Instance> instances, int timeoutSeconds, CancellationToken ct)
    {
        if (instances.Count == 0) return new Dictionary<string, Instance>();
        var sb = new StringBuilder("V() { virsh -q -c qemu:///system \"$@\"; }\nend=$(( $(date +%s) + ")
            .Append(timeoutSeconds).Append(" ))\n");
        foreach (var i in instances)
        {
            sb.Append("while [ \"$(V domstate ").Append(ShellQuote.Quote(i.Name)).Append(" 2>/dev/null)\" != running ] && [ $(date +%s) -lt $end ]; do sleep 0.5; done\n");
            foreach (var mac in i.MacAddresses)
                sb.Append("until grep -qi ").Append(ShellQuote.Quote(mac)).Append(" " + HostPaths.LibvirtDnsmasq + "/*.status 2>/dev/null || [ $(date +%s) -ge $end ]; do sleep 0.5; done\n");
        }
        sb.Append("exit 0\n");
        await host.RunAsync(sb.ToString(), ct, timeout: TimeSpan.FromSeconds(timeoutSeconds + 30));
        var now = await InstanceReader.ReadAsync(host, ct);
        return now.Where(n => instances.Any(i => i.Name == n.Name)).ToDictionary(n => n.Name);
    }
}
