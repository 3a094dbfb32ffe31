using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Removes security groups no instance is a member of.</para>
/// <example><code>Remove-VfSecurityGroup web</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "VfSecurityGroup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveVfSecurityGroupCommand : VfNetworkCmdlet
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
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        var groups = read.Fleet.Groups.ToList();
        foreach (var name in _names.Distinct())
        {
            var g = groups.FirstOrDefault(x => x.Name == name);
            if (g is null) { WriteFailure(NotFound("SecurityGroup", name), name); continue; }
            var members = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata?.SecurityGroups.Contains(name) == true)
                .Select(d => $"{d.Info.Name} on {l.Key}")).ToList();
            if (members.Count > 0)
            {
                WriteFailure(new VfException("SecurityGroupInUse", FailureKind.InvalidOperation,
                    $"Security group '{name}' has members: {string.Join(", ", members)}.", name), name);
                continue;
            }
            if (ShouldProcess(name, "Remove security group")) groups.Remove(g);
        }
        if (groups.Count != read.Fleet.Groups.Count) SaveGroups(read, options, groups);
        base.EndProcessing();
    }
}
