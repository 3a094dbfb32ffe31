using System.Management.Automation;
using VirtFleet.Operations;
using VirtFleet.Storage;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Shows VirtFleet's store on each host: the filesystem's size, use and free space, and what the store holds.</para>
/// <para type="description">One object per host: the filesystem holding /var/lib/libvirt/virtfleet (size, used, free), the
/// bytes allocated by images, overlays (instances' disks, with the checkpoints inside them), seeds and staging folders, and
/// its orphans (files VirtFleet made that no domain or overlay uses any more: image versions nothing is made from, disks and
/// seeds of instances whose domain is gone, uploads abandoned over an hour ago) and foreign files (anything VirtFleet did not
/// make, which it never removes). Files lists every file. With -Orphan or -Foreign, the files of that state are written
/// instead (pipe orphans to Remove-VfOrphan). When a domain or disk cannot be read, nothing is called an orphan.</para>
/// <example><code>Get-VfStorage</code></example>
/// <example><code>Get-VfStorage -Host hv1 -Orphan | Remove-VfOrphan -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfStorage", DefaultParameterSetName = Summary)]
[OutputType(typeof(HostStorage), ParameterSetName = [Summary])]
[OutputType(typeof(StoreFile), ParameterSetName = [OrphanSet, ForeignSet])]
public sealed class GetVfStorageCommand : VfFleetCmdlet
{
    private const string Summary = "Summary";
    private const string OrphanSet = "Orphan";
    private const string ForeignSet = "Foreign";

    /// <summary>Write the orphan files (VirtFleet's, unused) instead of the hosts' summaries.</summary>
    [Parameter(Mandatory = true, ParameterSetName = OrphanSet)] public SwitchParameter Orphan { get; set; }

    /// <summary>Write the foreign files (not made by VirtFleet) instead of the hosts' summaries.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ForeignSet)] public SwitchParameter Foreign { get; set; }

    protected override void ProcessRecord()
    {
        var inv = LoadInventory();
        var hosts = SelectHosts(inv);
        var scope = Scope(inv);
        RunAsync(ct => StorageOperations.ListAsync(scope, hosts, ct, s => Post(() =>
        {
            s.Inventory = inv.Path;
            foreach (var f in s.Files) f.Inventory = inv.Path;
            if (Orphan) WriteObject(s.Orphans, enumerateCollection: true);
            else if (Foreign) WriteObject(s.Foreign, enumerateCollection: true);
            else WriteObject(s);
        })));
    }
}
