namespace VirtFleet.Playbooks;

/// <summary>A playbook that did not validate: ErrorId PlaybookInvalid, every error in <see cref="Errors"/>.</summary>
public sealed class PlaybookException(string path, IReadOnlyList<PlaybookError> errors)
    : VfException("PlaybookInvalid", FailureKind.InvalidData, Describe(path, errors), path)
{
    public IReadOnlyList<PlaybookError> Errors { get; } = errors;

    private static string Describe(string path, IReadOnlyList<PlaybookError> errors) =>
        $"{path} is not a valid playbook ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):" +
        string.Concat(errors.Take(20).Select(e => "\n  " + e)) + (errors.Count > 20 ? $"\n  ... and {errors.Count - 20} more" : "");
}
