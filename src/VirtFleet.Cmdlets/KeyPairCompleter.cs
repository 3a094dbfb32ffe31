using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VirtFleet.KeyPairs;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of key pair names from the local key pair folder.</summary>
public sealed class KeyPairCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string[] files;
        try { files = Directory.Exists(KeyPairStore.Folder) ? Directory.GetFiles(KeyPairStore.Folder, "*.pub") : []; }
        catch (Exception) { return []; }
        return Completion.Results(wordToComplete, files.Select(f => Path.GetFileNameWithoutExtension(f))
            .Select(n => (n, File.Exists(Path.Combine(KeyPairStore.Folder, n)) ? $"key pair {n} (private key here)" : $"key pair {n}")));
    }
}
