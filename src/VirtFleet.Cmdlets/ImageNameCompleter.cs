using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using VirtFleet.Images;

namespace VirtFleet.Cmdlets;

/// <summary>Tab completion of image names: the local image cache, and images this session saw on hosts or under instances.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var names = new List<(string, string)>();
        try
        {
            if (Directory.Exists(ImageStore.LocalCacheDir))
                names.AddRange(Directory.GetDirectories(ImageStore.LocalCacheDir)
                    .Where(d => File.Exists(Path.Combine(d, "image.json")))
                    .Select(d => (Path.GetFileName(d), $"image {Path.GetFileName(d)} (local cache)")));
        }
        catch (Exception) { }
        if (Completion.Session() is { } session) names.AddRange(session.Known.Images.Select(n => (n, $"image {n}")));
        return Completion.Results(wordToComplete, names);
    }
}
