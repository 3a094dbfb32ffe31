using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Hosts;

/// <summary>Reads a host's facts (versions, CPU virtualization, memory, disk, load) in one command.</summary>
public static class HostProbe
{
    /// <summary>
    /// Shell function vf_outside: prints the interface of the host's IPv4 default route (the lowest metric; nothing without
    /// one), read from /proc/net/route with builtins only. It is where public addresses go unless -Interface says otherwise;
    /// on a host without a default route, the interface holding the address VirtFleet reaches it at (<see cref="InterfaceWith"/>).
    /// </summary>
    public const string OutsideInterfaceFunction = """
        vf_outside() {
          vf_o= vf_m=
          while read -r vf_i vf_d _ _ _ _ vf_mt vf_k _; do
            [ "$vf_d" = 00000000 ] && [ "$vf_k" = 00000000 ] || continue
            if [ -z "$vf_m" ] || [ "$vf_mt" -lt "$vf_m" ]; then vf_m=$vf_mt vf_o=$vf_i; fi
          done < /proc/net/route
          printf '%s' "$vf_o"
        }

        """;

    // Only fixed text: no user value reaches this script. Shell builtins read /proc and /sys; three processes
    // in all (df, qemu, one virsh), where a process per fact cost a host about 70 ms a probe.
    private const string Script = """
        kv() { printf '%s=%s\n' "$1" "$2"; }
        read -r v < /proc/sys/kernel/hostname; kv hostname "$v"
        read -r v < /proc/sys/kernel/osrelease; kv kernel "$v"
        model= flags= cpus=0
        while IFS= read -r line; do
          case "$line" in
            processor*) cpus=$((cpus + 1)) ;;
            'model name'*) [ -n "$model" ] || model=${line#*: } ;;
            flags*) [ -n "$flags" ] || flags=" ${line#*: } " ;;
          esac
        done < /proc/cpuinfo
        kv cpumodel "$model"
        kv cpus "$cpus"
        case "$flags" in *' vmx '*|*' svm '*) kv hwvirt 1 ;; *) kv hwvirt 0 ;; esac
        case "$flags" in *' ept '*|*' npt '*) kv slat 1 ;; *) kv slat 0 ;; esac
        if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then kv kvmdev 1; else kv kvmdev 0; fi
        while read -r key val _; do
          case "$key" in MemTotal:) kv memtotal "$val" ;; MemAvailable:) kv memavail "$val" ;; esac
        done < /proc/meminfo
        [ -d STORE ] || mkdir -p STORE 2>/dev/null
        df -Pk STORE 2>/dev/null | { read -r _; read -r _ _ _ v _; kv storefree "$v"; }
        v=
        for d in /sys/class/net/*/bridge; do [ -d "$d" ] || continue; d=${d%/bridge}; v="$v${d##*/} "; done
        kv bridges "$v"
        v=$(vf_outside); kv outside "$v"
        [ -n "$v" ] || kv addrs "$(ip -o -4 addr show 2>/dev/null | while read -r _ i _ a _; do printf '%s=%s ' "$i" "${a%/*}"; done)"
        if command -v iptables-restore >/dev/null 2>&1; then kv iptables 1; else kv iptables 0; fi
        v=$(qemu-system-x86_64 --version 2>/dev/null)
        case "$v" in "QEMU emulator version "*) v=${v#QEMU emulator version }; kv qemu "${v%%[ (]*}" ;; *) kv qemu "" ;; esac
        if v=$(virsh -c qemu:///system "version --daemon; echo @@VF-STATS@@; domstats --raw --state --vcpu --balloon" 2>/dev/null); then kv libvirtd 1; else kv libvirtd 0; fi
        n=0 r=0 c=0 m=0
        while IFS= read -r line; do
          case "$line" in
            'Running against daemon: '*) kv libvirt "${line#Running against daemon: }" ;;
            *Domain:*) n=$((n + 1)) ;;
            *state.state=1) r=$((r + 1)) ;;
            *vcpu.current=*) c=$((c + ${line#*=})) ;;
            *balloon.maximum=*) m=$((m + ${line#*=})) ;;
          esac
        done <<VF_STATS
        $v
        VF_STATS
        kv domains "$n"; kv running "$r"; kv vcpus "$c"; kv memcommit "$m"
        """;

    public static string ScriptText => OutsideInterfaceFunction + Script.Replace("STORE", HostPaths.Store);

    public static async Task<HostFacts> ProbeAsync(IRemoteHost remote, CancellationToken ct)
    {
        var result = await remote.RunAsync(ScriptText, ct);
        return Parse(remote.Host, result.Stdout);
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
        if (!B("libvirtd")) problems.Add("libvirtd does not answer (virsh -c qemu:///system version --daemon failed)");
        if (S("qemu") is null) problems.Add("qemu-system-x86_64 not found");
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
