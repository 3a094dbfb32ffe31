using System.Management.Automation;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of instance type names.</summary>
public sealed class InstanceTypeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters) =>
        Model.InstanceType.All().Where(t => t.Name.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
            .Select(t => new CompletionResult(t.Name, t.Name, CompletionResultType.ParameterValue, $"{t.Vcpus} vCPU, {t.MemoryMiB} MiB, {t.DiskGiB} GiB"));
}
