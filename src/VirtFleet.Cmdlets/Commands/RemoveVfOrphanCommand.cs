using System.Management.Automation;
using VirtFleet.Operations;
using VirtFleet.Storage;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes orphan files from VirtFleet's store on hosts: files VirtFleet made that no domain or overlay uses.</para>
/// <para type="description">Without -StoreFile, every orphan Get-VfStorage finds on the selected hosts; with files from
/// Get-VfStorage -Orphan, those. Each host decides again, under its host lock, that each file is still an orphan before it
/// removes it (a file that is in use by then is kept and reported). Files VirtFleet did not make (foreign) are never removed:
/// they are reported and kept. Asks for each file (ConfirmImpact High); -WhatIf lists what would go.</para>
/// <example><code>Remove-VfOrphan -WhatIf</code></example>
/// <example><code>Get-VfStorage -Host hv1 -Orphan | Where-Object Kind -eq Image | Remove-VfOrphan -Confirm:$false</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfOrphan", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(StoreFile))]
public sealed class RemoveVfOrphanCommand : VfFleetCmdlet
{
    /// <summary>Files to remove, as Get-VfStorage -Orphan writes them (from the pipeline). Default: every orphan on the selected hosts.</summary>
    [Parameter(ValueFromPipeline = true)]
    public StoreFile[]? StoreFile { get; set; }

    /// <summary>Return the files removed.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    private readonly List<StoreFile> _files = [];
    private bool _piped;

    protected override void ProcessRecord()
    {
        if (StoreFile is { } files) { _piped = true; _files.AddRange(files); }
    }

    protected override void EndProcessing()
    {
        var inv = LoadInventory(_files.Select(f => f.Inventory));
        var hosts = _piped ? [] : SelectHosts(inv);
        var scope = Scope(inv);
        var removed = RunAsync(ct => StorageOperations.RemoveOrphansAsync(scope, hosts, _piped ? _files : null, ct));
        if (PassThru) WriteObject(removed ?? [], enumerateCollection: true);
        base.EndProcessing();
    }
}
