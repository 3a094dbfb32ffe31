using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Hosts;

/// <summary>Reads a host's facts (versions, CPU virtualization, memory, disk, load) in one command.</summary>
public static class HostProbe
{
    /// <summary>Where VirtFleet keeps images and instance disks on every host.</summary>
    public const string StorePath = "/var/lib/libvirt/virtfleet";

    // Only fixed text: no user value reaches this script.
    private const string Script = """
        kv() { printf '%s=%s\n' "$1" "$2"; }
        kv hostname "$(hostname)"
        kv kernel "$(uname -r)"
        kv cpumodel "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
        kv cpus "$(getconf _NPROCESSORS_ONLN)"
        flags=" $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n1) "
        case "$flags" in *' vmx '*|*' svm '*) kv hwvirt 1 ;; *) kv hwvirt 0 ;; esac
        case "$flags" in *' ept '*|*' npt '*) kv slat 1 ;; *) kv slat 0 ;; esac
        if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then kv kvmdev 1; else kv kvmdev 0; fi
        kv memtotal "$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)"
        kv memavail "$(sed -n 's/^MemAvailable:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)"
        mkdir -p STORE 2>/dev/null
        kv storefree "$(df -Pk STORE 2>/dev/null | awk 'NR==2 {print $4}')"
        kv bridges "$(ls /sys/class/net/*/bridge 2>/dev/null -d | sed 's#/sys/class/net/##; s#/bridge##' | tr '\n' ' ')"
        if command -v iptables-restore >/dev/null 2>&1; then kv iptables 1; else kv iptables 0; fi
        kv qemu "$(qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')"
        v=$(virsh -c qemu:///system version --daemon 2>/dev/null) && kv libvirtd 1 || kv libvirtd 0
        kv libvirt "$(printf '%s\n' "$v" | sed -n 's/^Running against daemon: *//p')"
        virsh -c qemu:///system domstats --raw --state --vcpu --balloon 2>/dev/null | awk '
          /^Domain:/ {n++}
          /^ *state.state=1$/ {r++}
          /^ *vcpu.current=/ {split($0,a,"="); v+=a[2]}
          /^ *balloon.maximum=/ {split($0,a,"="); m+=a[2]}
          END {printf "domains=%d\nrunning=%d\nvcpus=%d\nmemcommit=%d\n", n, r, v, m}'
        """;

    public static string ScriptText => Script.Replace("STORE", StorePath);

    public static async Task<HostFacts> ProbeAsync(IRemoteHost remote, CancellationToken ct)
    {
        var result = await remote.RunAsync(ScriptText, ct);
        return Parse(remote.Host, result.Stdout);
    }

    public static HostFacts Parse(HostEntry host, string output)
    {
        var kv = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1].Trim());
        string? S(string k) => kv.TryGetValue(k, out var v) && v.Length > 0 ? v : null;
        long L(string k) => long.TryParse(S(k), out var v) ? v : 0;
        bool B(string k) => S(k) == "1";

        var problems = new List<string>();
        if (!B("libvirtd")) problems.Add("libvirtd does not answer (virsh -c qemu:///system version --daemon failed)");
        if (S("qemu") is null) problems.Add("qemu-system-x86_64 not found");
        if (!B("iptables")) problems.Add("iptables-restore not found");
        return new HostFacts
        {
            Name = host.Name, Address = host.Address, Reachable = true,
            Hostname = S("hostname"), Kernel = S("kernel"), CpuModel = S("cpumodel"), CpuCount = (int)L("cpus"),
            HardwareVirtualization = B("hwvirt"), SecondLevelTranslation = B("slat"), KvmDevice = B("kvmdev"),
            MemoryTotalMiB = L("memtotal") / 1024, MemoryFreeMiB = L("memavail") / 1024,
            StorePath = HostProbe.StorePath, StoreFreeGiB = L("storefree") / 1024 / 1024,
            Bridges = (S("bridges") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList(),
            IptablesAvailable = B("iptables"), QemuVersion = S("qemu"), LibvirtRunning = B("libvirtd"),
            LibvirtVersion = S("libvirt"), Instances = (int)L("domains"), RunningInstances = (int)L("running"),
            VcpusCommitted = (int)L("vcpus"), MemoryCommittedMiB = L("memcommit") / 1024, Problems = problems,
        };
    }
}
