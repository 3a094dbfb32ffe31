namespace VirtFleet.Operations;

/// <summary>
/// A reporter for an operation whose changes were already approved (the playbook asks once per plan step): every
/// ShouldProcess question is answered yes, everything else goes on to <paramref name="inner"/>.
/// </summary>
public sealed class ApprovedReporter(IOperationReporter inner) : IOperationReporter
{
    public void Progress(OperationProgress progress) => inner.Progress(progress);
    public void Verbose(string message) => inner.Verbose(message);
    public void Warning(string message) => inner.Warning(message);
    public void Failure(VfException error) => inner.Failure(error);
    public bool ShouldProcess(string target, string action) => true;
    public bool ConfirmsChanges => false;
}
