using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes security groups no instance is a member of.</para>
/// <example><code>Remove-VfSecurityGroup web</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfSecurityGroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfSecurityGroupCommand : VfFleetCmdlet
{
    /// <summary>Names of security groups to remove (from every host).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SecurityGroupCompleter))]
    public string[] Name { get; set; } = [];

    private readonly List<string> _names = [];

    protected override void ProcessRecord() => _names.AddRange(Name);

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        RunAsync(ct => SecurityGroupOperations.RemoveAsync(Scope(inv), _names, ct));
        base.EndProcessing();
    }
}
