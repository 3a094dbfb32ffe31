using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of VirtFleet network names.</summary>
public sealed class NetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Networks ?? []).Select(n => (n, $"network {n}")));
}
