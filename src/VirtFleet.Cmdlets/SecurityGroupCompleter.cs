using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of security group names.</summary>
public sealed class SecurityGroupCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Groups ?? []).Select(g => (g, $"security group {g}")));
}
