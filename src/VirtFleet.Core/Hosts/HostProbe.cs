using VirtFleet.HostScripts;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Hosts;

/// <summary>Reads a host's facts (versions, CPU virtualization, memory, disk, load) in one command.</summary>
public static class HostProbe
{
    /// <summary>The host's facts in one round trip (probe.sh; outside.sh tells the interface of its default route).</summary>
    public static HostStep<HostFacts> ProbeStep() =>
        HostScript.Load("probe").Include("outside").Reads(r => Parse(r.Host, r.Stdout));

    public static async Task<HostFacts> ProbeAsync(IRemoteHost remote, CancellationToken ct)
    {
        return await ProbeStep().RunAsync(remote, ct);
    }

    /// <summary>
    /// The host's outside interface when it has no default route: the one holding the address VirtFleet reaches it at.
    /// </summary>
    public static string? InterfaceWith(string address, IEnumerable<(string Interface, string Address)> addresses) =>
        addresses.Where(a => a.Address == address).Select(a => a.Interface).FirstOrDefault();

    public static HostFacts Parse(HostEntry host, string output)
    {
        var kv = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1].Trim());
        string? S(string k) => kv.TryGetValue(k, out var v) && v.Length > 0 ? v : null;
        long L(string k) => long.TryParse(S(k), out var v) ? v : 0;
        bool B(string k) => S(k) == "1";

        var problems = new List<string>();
        if (!B("libvirtd")) problems.Add($"libvirtd does not answer (virsh -c {HostScript.LibvirtUri} version --daemon failed)");
        // No qemu line: not read (the survey of a create skips it); an empty one: not found.
        if (kv.ContainsKey("qemu") && S("qemu") is null) problems.Add("qemu-system-x86_64 not found");
        if (!B("iptables")) problems.Add("iptables-restore not found");
        return new HostFacts
        {
            Name = host.Name, Address = host.Address, Reachable = true,
            Hostname = S("hostname"), Kernel = S("kernel"), CpuModel = S("cpumodel"), CpuCount = (int)L("cpus"),
            HardwareVirtualization = B("hwvirt"), SecondLevelTranslation = B("slat"), KvmDevice = B("kvmdev"),
            MemoryTotalMiB = L("memtotal") / 1024, MemoryFreeMiB = L("memavail") / 1024,
            StorePath = HostPaths.Store, StoreFreeGiB = L("storefree") / 1024 / 1024,
            Bridges = (S("bridges") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList(), OutsideInterface = S("outside") ?? InterfaceWith(host.Address,
                (S("addrs") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2).Select(p => (p[0], p[1]))),
            IptablesAvailable = B("iptables"), QemuVersion = S("qemu"), LibvirtRunning = B("libvirtd"),
            LibvirtVersion = S("libvirt"), Instances = (int)L("domains"), RunningInstances = (int)L("running"),
            VcpusCommitted = (int)L("vcpus"), MemoryCommittedMiB = L("memcommit") / 1024, Problems = problems,
        };
    }
}
