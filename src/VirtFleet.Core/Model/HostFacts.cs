namespace VirtFleet.Model;

/// <summary>What Test-VfHost / Get-VfHost -Detailed learn about a hypervisor host in one round trip.</summary>
public sealed class HostFacts
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "";
    public bool Reachable { get; init; }
    public string? Hostname { get; init; }
    public string? Kernel { get; init; }
    public string? LibvirtVersion { get; init; }
    public string? QemuVersion { get; init; }
    public bool LibvirtRunning { get; init; }
    public string? CpuModel { get; init; }
    public int CpuCount { get; init; }
    /// <summary>vmx or svm in the CPU flags.</summary>
    public bool HardwareVirtualization { get; init; }
    /// <summary>ept (Intel) or npt (AMD, "rvi") in the CPU flags.</summary>
    public bool SecondLevelTranslation { get; init; }
    public bool KvmDevice { get; init; }
    /// <summary>kvm when the CPU has vmx/svm and /dev/kvm is usable; otherwise qemu (TCG).</summary>
    public string DomainType => HardwareVirtualization && KvmDevice ? "kvm" : "qemu";
    public long MemoryTotalMiB { get; init; }
    public long MemoryFreeMiB { get; init; }
    public string StorePath { get; init; } = "";
    public long StoreFreeGiB { get; init; }
    public int Instances { get; init; }
    public int RunningInstances { get; init; }
    public int VcpusCommitted { get; init; }
    public long MemoryCommittedMiB { get; init; }
    public List<string> Bridges { get; init; } = [];
    /// <summary>The interface of the host's IPv4 default route: where public addresses go (New-VfAddress -Interface overrides it).</summary>
    public string? OutsideInterface { get; init; }
    public bool IptablesAvailable { get; init; }
    public List<string> Problems { get; init; } = [];
    public bool Healthy => Reachable && Problems.Count == 0;
}
