using System.Management.Automation;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of host names from the inventory.</summary>
public sealed class HostNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        // The inventory the command would use (its -Inventory, else the session's), read from the local file only.
        if (Completion.Inventory(fakeBoundParameters) is not { } inv) return [];
        return Completion.Results(wordToComplete, inv.Hosts.Select(h => (h.Name, h.Local ? $"{h.Name} (this machine)" : $"{h.Name} ({h.User}@{h.Address}:{h.Port})")));
    }
}
