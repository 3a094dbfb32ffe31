using System.Management.Automation;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Lists instance types: EC2-like defaults plus those defined in instance-types.yml in the config folder.</para>
/// <example><code>Get-VfInstanceType</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "VfInstanceType")]
[OutputType(typeof(InstanceType))]
public sealed class GetVfInstanceTypeCommand : VfCmdlet
{
    /// <summary>Instance type names, e.g. m1.small (wildcards allowed). Default: every type.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceTypeCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var types = InstanceType.All();
        foreach (var t in types)
            if (Name is null || Name.Any(n => Wildcard.IsMatch(t.Name, n))) WriteObject(t);
        WriteNotFound("InstanceTypeNotFound", "instance type", Name, types.Select(t => t.Name));
    }
}
