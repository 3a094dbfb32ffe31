using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VirtFleet.Instances;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of instance names: what this session has listed, else a bounded read of the hosts it is connected to.</summary>
public sealed class InstanceNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (Completion.Session() is not { } session) return [];
        if (!session.Known.InstancesRead)
            Completion.ReadOpenConnections(session, async (h, ct) =>
            {
                foreach (var i in await InstanceReader.ReadAsync(h, ct)) session.Known.Saw(i);
            });
        return Completion.Results(wordToComplete, session.Known.Instances.Select(i => (i.Name, $"{i.Name} on {i.Host}")));
    }
}
