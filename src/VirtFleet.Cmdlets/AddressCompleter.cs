using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of the fleet's public addresses.</summary>
public sealed class AddressCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completion.Results(wordToComplete, (FleetNames.Networking()?.Addresses ?? [])
            .Select(a => (a.Address, a.Instance is null ? $"{a.Address} (not associated)" : $"{a.Address} -> {a.Instance}")));
}
