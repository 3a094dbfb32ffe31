namespace VirtFleet.Operations;

/// <summary>
/// The reporter of one playbook step's operation: the step was approved already (every ShouldProcess question is answered
/// yes), everything is passed on to <paramref name="inner"/>, and the failures are kept so the step's result can say why.
/// </summary>
public sealed class StepReporter(IOperationReporter inner) : IOperationReporter
{
    private readonly object _gate = new();
    private readonly List<VfException> _failures = [];

    public IReadOnlyList<VfException> Failures { get { lock (_gate) return _failures.ToList(); } }

    public void Progress(OperationProgress progress) => inner.Progress(progress);
    public void Verbose(string message) => inner.Verbose(message);
    public void Warning(string message) => inner.Warning(message);
    public void Failure(VfException error)
    {
        lock (_gate) _failures.Add(error);
        inner.Failure(error);
    }
    public bool ShouldProcess(string target, string action) => true;
    public bool ConfirmsChanges => false;

    /// <summary>Why <paramref name="name"/> failed: the failure about it, else one about no item in particular, else null.</summary>
    public string? FailureOf(string name, IEnumerable<string>? hosts = null)
    {
        var list = Failures;
        var hostSet = (hosts ?? []).ToHashSet(StringComparer.Ordinal);
        return (list.FirstOrDefault(f => Equals(f.Target, name))
            ?? list.FirstOrDefault(f => f.Target is null || (f.Target is string t && hostSet.Contains(t))))?.Message;
    }
}
