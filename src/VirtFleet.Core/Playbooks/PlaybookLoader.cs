namespace VirtFleet.Playbooks;

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
