namespace VirtFleet.Libvirt;

/// <summary>Deterministic target names: a per-prefix counter in disk order, skipping names set explicitly.</summary>
public static class DiskTargets
{
    public static string Prefix(DiskBus bus) => bus switch
    {
        DiskBus.Virtio => "vd",
        DiskBus.Ide => "hd",
        _ => "sd", // sata and scsi share the sd namespace
    };

    /// <summary>The index-th name for a prefix: 0 → a, 25 → z, 26 → aa (libvirt's scheme).</summary>
    public static string Name(string prefix, int index)
    {
        var suffix = "";
        for (var n = index + 1; n > 0; n = (n - 1) / 26)
            suffix = (char)('a' + (n - 1) % 26) + suffix;
        return prefix + suffix;
    }

    /// <summary>The target of every disk, in order.</summary>
    public static IReadOnlyList<string> Assign(IReadOnlyList<DomainDisk> disks)
    {
        var used = disks.Where(d => d.Target is not null).Select(d => d.Target!).ToHashSet();
        var next = new Dictionary<string, int>();
        return disks.Select(d => d.Target ?? NextFree(Prefix(d.Bus))).ToList();

        string NextFree(string prefix)
        {
            string name;
            do name = Name(prefix, next[prefix] = next.GetValueOrDefault(prefix, -1) + 1);
            while (!used.Add(name));
            return name;
        }
    }
}
