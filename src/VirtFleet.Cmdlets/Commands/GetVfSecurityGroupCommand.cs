using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists the fleet's security groups and their rules.</para>
/// <example><code>Get-VfSecurityGroup</code></example>
/// <example><code>(Get-VfSecurityGroup web).Rules</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfSecurityGroup")]
[OutputType(typeof(SecurityGroup))]
public sealed class GetVfSecurityGroupCommand : VfNetworkCmdlet
{
    /// <summary>Group names (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SecurityGroupCompleter))]
    public string[]? Name { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var read = ReadFleet(inv, Options(inv));
        foreach (var g in read.Fleet.Groups.Where(g => Name is null || Name.Any(x => Wildcard.IsMatch(g.Name, x))))
            WriteObject(g);
        foreach (var x in (Name ?? []).Where(x => !Wildcard.HasWildcards(x) && read.Fleet.FindGroup(x) is null))
            WriteFailure(NotFound("SecurityGroup", x), x);
        base.EndProcessing();
    }
}
