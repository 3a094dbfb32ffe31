using System.Management.Automation;
using VirtFleet.Networking;
using VirtFleet.Operations;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the fleet's security groups and their rules.</para>
/// <example><code>Get-VfSecurityGroup</code></example>
/// <example><code>(Get-VfSecurityGroup web).Rules</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfSecurityGroup")]
[OutputType(typeof(SecurityGroup))]
public sealed class GetVfSecurityGroupCommand : VfFleetCmdlet
{
    /// <summary>Group names (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SecurityGroupCompleter))]
    public string[]? Name { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        RunAsync(ct => SecurityGroupOperations.GetAsync(Scope(inv), Name, ct, PostObject));
        base.EndProcessing();
    }
}
