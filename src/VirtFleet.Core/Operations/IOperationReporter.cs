namespace VirtFleet.Operations;

/// <summary>
/// How a Core operation talks back to whoever runs it (a cmdlet, the playbook executor, a test): progress, verbose and
/// warning text, one error per failed item (the operation carries on with the others), and the ShouldProcess question
/// asked before each change. Any thread may call it; the implementation marshals to where it writes.
/// </summary>
public interface IOperationReporter
{
    void Progress(OperationProgress progress);
    void Verbose(string message);
    void Warning(string message);
    /// <summary>One item (host, instance, object) failed; the operation goes on with the rest.</summary>
    void Failure(VfException error);
    /// <summary>True when the change may be made (-WhatIf answers false, -Confirm asks).</summary>
    bool ShouldProcess(string target, string action);
}

/// <summary>One progress record. <paramref name="Id"/> distinguishes concurrent bars; Completed closes the bar.</summary>
public sealed record OperationProgress(int Id, string Activity, string Status, int Percent, bool Completed = false, int ParentId = -1);

/// <summary>A reporter that says yes to every change and drops everything else (tests, nested steps that report nothing).</summary>
public sealed class SilentReporter : IOperationReporter
{
    public static readonly SilentReporter Instance = new();
    public void Progress(OperationProgress progress) { }
    public void Verbose(string message) { }
    public void Warning(string message) { }
    public void Failure(VfException error) { }
    public bool ShouldProcess(string target, string action) => true;
}

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
}
