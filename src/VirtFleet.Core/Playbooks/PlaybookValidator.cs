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

/// <summary>Loads a playbook into the typed model, or throws a <see cref="PlaybookException"/> carrying every error.</summary>
public static class PlaybookLoader
{
    public static Playbook Load(string path, string? environment = null)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new VfException("PlaybookNotFound", FailureKind.ObjectNotFound, $"No playbook file {full}.", full);
        if (TooLarge(full) is { } tooLarge) throw new PlaybookException(full, [tooLarge]);
        return Parse(File.ReadAllText(full), full, environment);
    }

    /// <summary>An error when the file is too large to be a playbook, found before it is read.</summary>
    internal static PlaybookError? TooLarge(string full)
    {
        var bytes = new FileInfo(full).Length;
        return bytes > PlaybookReader.MaxInputChars * 4L
            ? new PlaybookError(full, 1, 1, $"The playbook file is {bytes} bytes long; the limit is {PlaybookReader.MaxInputChars} characters.", "LimitExceeded")
            : null;
    }

    /// <summary>A playbook from text; <paramref name="path"/> names it in errors and anchors its relative paths.</summary>
    public static Playbook Parse(string text, string path, string? environment = null)
    {
        var errors = new List<PlaybookError>();
        if (PlaybookReader.Parse(text, path, errors) is { } root)
        {
            var (playbook, readErrors) = PlaybookReader.Read(root, path, environment);
            errors.AddRange(readErrors);
            if (playbook is not null && errors.Count == 0) return playbook;
        }
        throw new PlaybookException(path, errors);
    }
}
