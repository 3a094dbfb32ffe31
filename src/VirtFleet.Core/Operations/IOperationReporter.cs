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
    /// <summary>
    /// True when <see cref="ShouldProcess"/> may ask or answer no (-WhatIf, -Confirm): an operation then names each target before
    /// it changes anything. False: every change is approved already, so an operation may find its targets and change them in
    /// one round trip (Remove-VfInstance by name).
    /// </summary>
    bool ConfirmsChanges => true;
}

/// <summary>One progress record. <paramref name="Id"/> distinguishes concurrent bars; Completed closes the bar.</summary>
public sealed record OperationProgress(int Id, string Activity, string Status, int Percent, bool Completed = false, int ParentId = -1);
