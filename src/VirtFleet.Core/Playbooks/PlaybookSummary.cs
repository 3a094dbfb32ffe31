namespace VirtFleet.Playbooks;

/// <summary>The outcome of a playbook run.</summary>
/// <remarks>Incomplete: a selected host did not answer (UnreadHosts), so the plan covers only the hosts that did.</remarks>
public sealed record PlaybookSummary(string Playbook, string? Environment, int Planned, int Applied, int Failed, int Problems, bool Changed,
    DateTime Started, DateTime Finished, IReadOnlyList<PlaybookStepResult> Steps)
{
    public bool Incomplete => UnreadHosts.Count > 0;
    public IReadOnlyList<string> UnreadHosts { get; init; } = [];
    /// <summary>The encrypted administrator passwords of the playbook's Windows instances (Get-VfPassword -KeyFile decrypts one).</summary>
    public IReadOnlyList<FleetPassword> Passwords { get; init; } = [];
}
