namespace VirtFleet.Playbooks;

/// <summary>Checks a playbook and reports every problem with its position; never throws for bad content.</summary>
public static class PlaybookValidator
{
    /// <summary>
    /// The errors in a playbook's text (empty when valid). <paramref name="path"/> names the file in errors and
    /// anchors relative paths. Without an environment the base variables and every environment are checked.
    /// </summary>
    public static IReadOnlyList<PlaybookError> Validate(string text, string path, string? environment = null)
    {
        var errors = new List<PlaybookError>();
        if (PlaybookReader.Parse(text, path, errors) is not { } root) return errors;
        errors.AddRange(PlaybookReader.Read(root, path, environment).Errors);
        if (PlaybookReader.TooManyEnvironments(root, path) is { } tooMany) errors.Add(tooMany);
        else if (environment is null)
            foreach (var env in PlaybookReader.EnvironmentNames(root).Distinct())
                foreach (var e in PlaybookReader.Read(root, path, env).Errors.Except(errors).ToList())
                    errors.Add(e with { Message = $"With environment '{env}': {e.Message}" });
        return errors.Distinct().OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
    }

    /// <summary>Validates a file (a missing file is one error).</summary>
    public static IReadOnlyList<PlaybookError> ValidateFile(string path, string? environment = null)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) return [new PlaybookError(full, 0, 0, $"No playbook file {full}.", "PlaybookNotFound")];
        return PlaybookLoader.TooLarge(full) is { } tooLarge ? [tooLarge] : Validate(File.ReadAllText(full), full, environment);
    }
}
