namespace VirtFleet.Operations;

/// <summary>A reporter that says yes to every change and drops everything else (tests, nested steps that report nothing).</summary>
public sealed class SilentReporter : IOperationReporter
{
    public static readonly SilentReporter Instance = new();
    public void Progress(OperationProgress progress) { }
    public void Verbose(string message) { }
    public void Warning(string message) { }
    public void Failure(VfException error) { }
    public bool ShouldProcess(string target, string action) => true;
    public bool ConfirmsChanges => false;
}
