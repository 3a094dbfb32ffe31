using System.Management.Automation;
using VirtFleet.Playbooks;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Validates a playbook: every problem with its file, line and column. Returns $true when valid.</para>
/// <para type="description">Unknown keys (with a did-you-mean hint), wrong types, missing keys, bad values, undefined variables
/// and references to undefined images, networks, groups or key pairs are each reported as an error. Nothing is contacted.</para>
/// <example><code>Test-VfPlaybook ./playbooks/windows-lab.yml</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "VfPlaybook")]
[OutputType(typeof(bool))]
public sealed class TestVfPlaybookCommand : VfCmdlet
{
    /// <summary>The playbook file (YAML) to validate.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>Validate with this environment's variables (default: the defaults, then every environment).</summary>
    [Parameter] public string? Environment { get; set; }

    protected override void ProcessRecord()
    {
        var file = GetUnresolvedProviderPathFromPSPath(Path);
        if (!File.Exists(file))
        {
            WriteFailure(new VfException("PlaybookNotFound", FailureKind.ObjectNotFound, $"No playbook {file}.", file), file);
            WriteObject(false);
            return;
        }
        var errors = PlaybookValidator.ValidateFile(file, Environment);
        foreach (var e in errors)
            WriteFailure(new VfException(e.ErrorId, FailureKind.InvalidData, e.ToString(), $"{e.File}:{e.Line}:{e.Column}"));
        WriteObject(errors.Count == 0);
    }
}
