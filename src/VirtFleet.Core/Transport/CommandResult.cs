namespace VirtFleet.Transport;

/// <summary>What one remote command returned.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws a VfException naming the host and what failed, with the command's stderr.</summary>
    public CommandResult EnsureSuccess(string host, string what, string errorId = "RemoteCommandFailed",
        FailureKind kind = FailureKind.InvalidOperation)
    {
        if (Succeeded) return this;
        var detail = Stderr.Trim();
        if (detail.Length == 0) detail = Stdout.Trim();
        if (detail.Length > 2000) detail = detail[..2000] + "…";
        throw new VfException(errorId, kind, $"{host}: {what} failed (exit {ExitCode}): {detail}", host);
    }
}
