using System.Text.Json;
using VirtFleet.Libvirt;
using VirtFleet.Model;

namespace VirtFleet.Migration;

public enum MigrationCheckStatus { Passed, Warning, Failed }

public enum MigrationMode { Live, Offline }

/// <summary>One pre-check of a move (Test-VfMigration writes one per check, as Compare-VM lists incompatibilities).</summary>
public sealed record MigrationCheck(string Instance, string Source, string Destination, string Check, MigrationCheckStatus Status, string Detail)
{
    public bool Passed => Status != MigrationCheckStatus.Failed;
    public override string ToString() => $"{Check}: {Status} ({Detail})";
}

/// <summary>What a move did.</summary>
public sealed class MigrationResult
{
    public string Instance { get; init; } = "";
    public string? InstanceId { get; init; }
    public string Source { get; init; } = "";
    public string Destination { get; init; } = "";
    public MigrationMode Mode { get; init; }
    public TimeSpan Duration { get; init; }
    /// <summary>The instance as read on its new host afterwards.</summary>
    public Instance? InstanceAfter { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>What moved it: "native" (this process over both hosts' native libvirt connections) or "virsh" (the source's virsh, or the offline copy).</summary>
    public string Libvirt { get; init; } = "virsh";
    public override string ToString() => $"{Instance}: {Source} -> {Destination} ({Mode}, {Duration.TotalSeconds:0.0} s)";
}

/// <summary>One disk of the instance as qemu-img sees it on the source.</summary>
public sealed record MigrationDisk(string Path, string Format, long VirtualSize, long ActualSize, string? Backing, string? BackingFormat, bool ReadOnly);

/// <summary>The instance on its source host, as a move needs it.</summary>
public sealed class SourceInstance
{
    public required string Host { get; init; }
    public required DomainInfo Domain { get; init; }
    public required string State { get; init; }
    public bool Persistent { get; init; }
    public required string Xml { get; init; }
    public required string MigratableXml { get; init; }
    public IReadOnlyList<MigrationDisk> Disks { get; init; } = [];
    public string InstanceId => Domain.Metadata?.InstanceId ?? "";
    public string Folder => HostPaths.Instances + "/" + Domain.Name;
    public bool Running => State is "running" or "paused";

    internal static SourceInstance Parse(string host, string stdout)
    {
        string Section(string a) => MigrationText.Section(stdout, a);
        var xml = Section("@@VF-XML@@");
        var mig = Section("@@VF-MIGXML@@");
        var disks = new List<MigrationDisk>();
        var domain = DomainInfo.Parse(xml);
        foreach (var part in stdout.Split("@@VF-DISK@@ ").Skip(1))
        {
            var nl = part.IndexOf('\n');
            var path = (nl < 0 ? part : part[..nl]).Trim();
            var json = nl < 0 ? "" : part[(nl + 1)..];
            var end = json.IndexOf("@@VF-", StringComparison.Ordinal);
            if (end >= 0) json = json[..end];
            if (json.Trim().Length == 0) continue; // named by the metadata but not there
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var ro = domain.Disks.FirstOrDefault(d => d.Path == path)?.ReadOnly ?? false;
            disks.Add(new MigrationDisk(path, r.GetProperty("format").GetString() ?? "raw", r.GetProperty("virtual-size").GetInt64(),
                r.TryGetProperty("actual-size", out var a) ? a.GetInt64() : 0,
                r.TryGetProperty("backing-filename", out var b) ? b.GetString() : null,
                r.TryGetProperty("backing-filename-format", out var bf) ? bf.GetString() : null, ro));
        }
        return new SourceInstance
        {
            Host = host, Domain = domain, State = Section("@@VF-STATE@@"),
            Persistent = Section("@@VF-PERSISTENT@@") == "yes", Xml = xml, MigratableXml = mig, Disks = disks,
        };
    }
}

internal static class MigrationText
{
    /// <summary>The text after the line <paramref name="marker"/> up to the next line that starts with a marker (@@VF-).</summary>
    public static string Section(string stdout, string marker)
    {
        var i = stdout.StartsWith(marker + "\n", StringComparison.Ordinal) ? 0 : stdout.IndexOf("\n" + marker + "\n", StringComparison.Ordinal) is var k and >= 0 ? k + 1 : -1;
        if (i < 0) return "";
        i += marker.Length + 1;
        var j = stdout.IndexOf("\n@@VF-", i - 1, StringComparison.Ordinal);
        return (j < 0 ? stdout[i..] : j < i ? "" : stdout[i..j]).Trim();
    }
}

/// <summary>The destination as the pre-checks see it.</summary>
public sealed class DestinationView
{
    public required HostFacts Facts { get; init; }
    public string? NameHolder { get; init; }
    public string? UuidHolder { get; init; }
    public IReadOnlyDictionary<string, bool> Backings { get; init; } = new Dictionary<string, bool>();
    public string CpuCompare { get; init; } = "";
    public IReadOnlyList<string> ActiveNetworks { get; init; } = [];
    public bool HasSshHelper { get; init; }
    /// <summary>Memory (MiB) already promised to moves planned before this one in the same run.</summary>
    public long ReservedMiB { get; init; }

    /// <param name="markers">The run's markers (migration-destination.sh prints them with its nonce).</param>
    internal static DestinationView Parse(HostFacts facts, string stdout, HostScripts.HostMarkers markers)
    {
        string Section(string kind) => MigrationText.Section(stdout, markers[kind]);
        var backing = markers["BACKING"] + " ";
        var backings = stdout.Split('\n').Where(l => l.StartsWith(backing, StringComparison.Ordinal))
            .Select(l => l[backing.Length..].Split(' ', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[1].Trim(), p => p[0] == "yes");
        return new DestinationView
        {
            Facts = facts,
            NameHolder = Section("NAME") is { Length: > 0 } n ? n : null,
            UuidHolder = Section("UUID") is { Length: > 0 } u ? u : null,
            Backings = backings,
            CpuCompare = Section("CPU"),
            ActiveNetworks = Section("NETS").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            HasSshHelper = Section("HELPER").Length > 0,
        };
    }
}

/// <summary>
/// The pre-checks of a move, pure: the instance on its source, the destination's view, and the fleet's networking
/// documents. Every check is reported (passed, warning or failed); a move goes ahead only when none failed.
/// </summary>
public static class MigrationChecks
{
    /// <summary>MiB kept free on a destination beyond the instance's memory (the host's own needs, qemu's overhead).</summary>
    public const long MemoryHeadroomMiB = 128;
    /// <summary>vCPUs per host CPU beyond which a destination is reported (a warning, not a refusal).</summary>
    public const double VcpuOvercommitWarning = 4.0;

    public static IReadOnlyList<MigrationCheck> Evaluate(SourceInstance src, DestinationView dst, MigrationMode mode,
        Networking.FleetNetworkState? fleet, IReadOnlyList<string>? spreadPeersOnDestination = null, bool destinationInMaintenance = false)
    {
        var d = src.Domain;
        var name = d.Name;
        var checks = new List<MigrationCheck>();
        void Add(string check, MigrationCheckStatus status, string detail) => checks.Add(new(name, src.Host, dst.Facts.Name, check, status, detail));
        const MigrationCheckStatus Ok = MigrationCheckStatus.Passed, Bad = MigrationCheckStatus.Failed, Warn = MigrationCheckStatus.Warning;

        Add("VirtFleetInstance", d.Metadata is null ? Bad : Ok, d.Metadata is null ? $"{name} was not created by VirtFleet; it is not moved" : $"instance {src.InstanceId}");
        Add("DifferentHost", src.Host == dst.Facts.Name ? Bad : Ok, src.Host == dst.Facts.Name ? $"{name} already runs on {src.Host}" : $"{src.Host} to {dst.Facts.Name}");
        Add("State", mode switch
        {
            MigrationMode.Live when src.State == "running" => Ok,
            MigrationMode.Offline when src.State == "shut off" => Ok,
            _ => Bad,
        }, mode == MigrationMode.Live
            ? (src.State == "running" ? "running: moves live" : $"{src.State}: a live move needs a running instance (use -Offline for a stopped one)")
            : (src.State == "shut off" ? "stopped: moves offline" : $"{src.State}: an offline move needs a stopped instance (Stop-VfInstance first, or move it live)"));
        Add("Persistent", src.Persistent ? Ok : Bad, src.Persistent ? "defined persistently" : "a transient domain is not moved");
        Add("Maintenance", destinationInMaintenance ? Bad : Ok, destinationInMaintenance ? $"{dst.Facts.Name} is in maintenance (Set-VfHost -Maintenance:$false ends it)" : "not in maintenance");
        Add("LibvirtRunning", dst.Facts.LibvirtRunning ? Ok : Bad, dst.Facts.LibvirtRunning ? $"libvirt {dst.Facts.LibvirtVersion}" : "libvirtd does not answer");

        // Domain type: kvm needs /dev/kvm on the destination; a TCG guest moves anywhere.
        var kvm = string.Equals(d.Type, "kvm", StringComparison.OrdinalIgnoreCase);
        Add("DomainType", kvm && !dst.Facts.KvmDevice ? Bad : Ok,
            kvm && !dst.Facts.KvmDevice ? $"{name} is a kvm domain and {dst.Facts.Name} has no usable /dev/kvm" : $"{d.Type} on {dst.Facts.DomainType}");
        var cpu = dst.CpuCompare.Trim();
        if (cpu == "no-cpu" || cpu.Length == 0)
            Add("Cpu", Ok, "the domain names no CPU model (qemu's default model): nothing to compare");
        else if (cpu.Contains("identical", StringComparison.OrdinalIgnoreCase) || cpu.Contains("superset", StringComparison.OrdinalIgnoreCase))
            Add("Cpu", Ok, cpu.Split('\n')[0]);
        else if (cpu.Contains("incompatible", StringComparison.OrdinalIgnoreCase))
            Add("Cpu", Bad, $"the destination's CPU cannot run the domain's: {cpu.Split('\n')[0]}");
        else
            Add("Cpu", Warn, $"libvirt could not compare the CPUs: {cpu.Split('\n')[0]}");

        var needMiB = d.MemoryMiB + MemoryHeadroomMiB;
        var freeMiB = dst.Facts.MemoryFreeMiB - dst.ReservedMiB;
        Add("Memory", freeMiB >= needMiB ? Ok : Bad,
            $"{d.MemoryMiB} MiB (+{MemoryHeadroomMiB} headroom) needed, {freeMiB} MiB available on {dst.Facts.Name}" + (dst.ReservedMiB > 0 ? $" after {dst.ReservedMiB} MiB reserved by other moves" : ""));
        var cpus = Math.Max(1, dst.Facts.CpuCount);
        var ratio = (double)(dst.Facts.VcpusCommitted + d.Vcpus) / cpus;
        Add("Vcpus", ratio > VcpuOvercommitWarning ? Warn : Ok, $"{dst.Facts.VcpusCommitted} + {d.Vcpus} vCPUs on {cpus} CPUs ({ratio:0.0} per CPU)");
        var diskGiB = (long)Math.Ceiling(src.Disks.Sum(x => (double)(mode == MigrationMode.Live ? Math.Max(x.ActualSize, 0) : Math.Max(x.ActualSize, 0))) / (1L << 30)) + 1;
        Add("Disk", dst.Facts.StoreFreeGiB >= diskGiB ? Ok : Bad, $"{diskGiB} GiB needed, {dst.Facts.StoreFreeGiB} GiB free in {dst.Facts.StorePath}");

        var folder = src.Folder + "/";
        var foreign = (d.Metadata?.Disks ?? []).Concat(d.Disks.Where(x => x.Path is not null).Select(x => x.Path!))
            .Distinct().Where(p => !p.StartsWith(folder, StringComparison.Ordinal) || p[folder.Length..].Contains('/')).ToList();
        Add("DisksOwned", foreign.Count == 0 ? Ok : Bad, foreign.Count == 0 ? $"{src.Disks.Count} disk file(s) in {src.Folder}" : $"disks outside the instance's folder are not moved: {string.Join(", ", foreign)}");
        var missing = src.Disks.Where(x => x.Backing is not null && !dst.Backings.GetValueOrDefault(x.Backing)).Select(x => x.Backing!).Distinct().ToList();
        Add("Image", missing.Count == 0 ? Ok : Bad, missing.Count == 0
            ? (d.Metadata?.Image is { } img ? $"image {img} is on {dst.Facts.Name}" : "no backing image")
            : $"the image {d.Metadata?.Image} ({string.Join(", ", missing)}) is not on {dst.Facts.Name}: Import-VfImage -Host {dst.Facts.Name} first");
        Add("NameFree", dst.NameHolder is null ? Ok : Bad, dst.NameHolder is null ? $"no domain named {name} on {dst.Facts.Name}" : $"{dst.Facts.Name} already has a domain named {name} ({dst.NameHolder})");
        Add("UuidFree", dst.UuidHolder is null ? Ok : Bad, dst.UuidHolder is null ? $"UUID {d.Uuid} is free on {dst.Facts.Name}" : $"{dst.Facts.Name} already has UUID {d.Uuid} (domain {dst.UuidHolder})");
        if (mode == MigrationMode.Live)
            Add("Transport", dst.HasSshHelper ? Ok : Bad, dst.HasSshHelper ? "virt-ssh-helper is on the destination" : "virt-ssh-helper (libvirt-daemon) is not on the destination");

        // Networks: a NIC on a VirtFleet network needs the destination among the network's hosts; one on a plain
        // libvirt network or bridge needs it active (or present) there.
        foreach (var nic in d.Interfaces.Where(i => i.Source is not null))
        {
            var vf = fleet?.Networks.FirstOrDefault(n => n.Name == nic.Source || (n.Mode == Networking.NetworkMode.Bridged && n.Bridge == nic.Source));
            if (vf is not null)
            {
                var on = vf.Hosts.Contains(dst.Facts.Name) || vf.Mode == Networking.NetworkMode.Bridged && dst.Facts.Bridges.Contains(vf.Bridge);
                Add("Network", on ? Ok : Bad, on
                    ? $"{nic.Mac} on {vf.Name} ({vf.Mode}{(vf.Span ? ", spans hosts" : "")}) lives on {dst.Facts.Name}; its address stays"
                    : $"network {vf.Name} does not live on {dst.Facts.Name} (its hosts: {string.Join(", ", vf.Hosts)})");
            }
            else if (nic.Type == "bridge")
                Add("Network", dst.Facts.Bridges.Contains(nic.Source!) ? Ok : Bad, $"bridge {nic.Source} {(dst.Facts.Bridges.Contains(nic.Source!) ? "is" : "is not")} on {dst.Facts.Name}");
            else
                Add("Network", dst.ActiveNetworks.Contains(nic.Source!) ? Ok : Bad, $"libvirt network {nic.Source} {(dst.ActiveNetworks.Contains(nic.Source!) ? "is active" : "is not active")} on {dst.Facts.Name}");
        }
        var groups = d.Metadata?.SecurityGroups ?? [];
        if (groups.Count > 0)
        {
            var unknown = groups.Where(g => fleet?.FindGroup(g) is null).ToList();
            Add("SecurityGroups", unknown.Count == 0 ? Ok : Warn, unknown.Count == 0
                ? $"{string.Join(", ", groups)}: the chains follow to {dst.Facts.Name} (in place before the guest arrives)"
                : $"groups not in the fleet's definitions: {string.Join(", ", unknown)} (the instance stays default-deny for them)");
        }
        var pub = fleet?.Addresses.Where(a => a.Associated && a.Instance == name && a.Host == src.Host).ToList() ?? [];
        foreach (var a in pub)
            Add("PublicAddress", !dst.Facts.IptablesAvailable ? Bad : dst.Facts.OutsideInterface is null && a.Interface is null ? Bad : Ok,
                !dst.Facts.IptablesAvailable ? $"{a.Address}: iptables-restore is not on {dst.Facts.Name}"
                : dst.Facts.OutsideInterface is null && a.Interface is null ? $"{a.Address}: {dst.Facts.Name} has no outside interface (no default route)"
                : $"{a.Address} moves to {a.Interface ?? dst.Facts.OutsideInterface} on {dst.Facts.Name}");
        if (d.Metadata?.SpreadGroup is { } spread)
        {
            var peers = spreadPeersOnDestination ?? [];
            Add("SpreadGroup", peers.Count == 0 ? Ok : Bad, peers.Count == 0
                ? $"no other member of spread group {spread} on {dst.Facts.Name}"
                : $"spread group {spread}: {string.Join(", ", peers)} already on {dst.Facts.Name}");
        }
        return checks;
    }
}
