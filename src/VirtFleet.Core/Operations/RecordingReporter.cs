namespace VirtFleet.Operations;

/// <summary>A reporter that keeps what it was told (tests, the playbook executor's step results).</summary>
public sealed class RecordingReporter(Func<string, string, bool>? shouldProcess = null) : IOperationReporter
{
    private readonly object _gate = new();
    public List<string> VerboseLines { get; } = [];
    public List<string> Warnings { get; } = [];
    public List<VfException> Failures { get; } = [];
    public List<string> Asked { get; } = [];

    public void Progress(OperationProgress progress) { }
    public void Verbose(string message) { lock (_gate) VerboseLines.Add(message); }
    public void Warning(string message) { lock (_gate) Warnings.Add(message); }
    public void Failure(VfException error) { lock (_gate) Failures.Add(error); }
    public bool ShouldProcess(string target, string action)
    {
        lock (_gate) Asked.Add($"{action}: {target}");
        return shouldProcess?.Invoke(target, action) ?? true;
    }
    /// <summary>Only a reporter given its own answers asks; one without says yes to every change.</summary>
    public bool ConfirmsChanges => shouldProcess is not null;
}
