namespace VirtFleet.Networking;

/// <summary>What a check or repair found on one host, and what the repair changed.</summary>
public sealed class NetworkHostReport
{
    public string Host { get; init; } = "";
    /// <summary>Differences between the host and the fleet's definitions, before any repair.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
    /// <summary>What was done to fix them (empty for a check, or when nothing was wrong).</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public bool InSync => Problems.Count == 0;
    public override string ToString() => Host;
}
