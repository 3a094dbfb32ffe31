using System.Text;
using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Playbooks;

public enum PlanStepKind { Create, Change, Remove, Operate }

public enum PlanResourceType { KeyPair, Image, Network, SecurityGroup, Instance, Address }

/// <summary>
/// One thing the executor does. Definition is what the playbook wants (for a created instance: that one
/// instance, owner tag included); Instance is the existing domain a Change, Operate or Remove works on;
/// Action is the lifecycle action (Start for a stopped instance, the operation's action, Remove for a prune).
/// </summary>
public sealed record PlanStep(PlanStepKind Kind, PlanResourceType ResourceType, string Name, string Details)
{
    public PlaybookResource? Definition { get; init; }
    public Instance? Instance { get; init; }
    public InstanceAction? Action { get; init; }
    /// <summary>The hosts the step works on: where an image is imported or a network defined, an instance's host.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    public char Symbol => Kind switch { PlanStepKind.Create => '+', PlanStepKind.Remove => '-', _ => '~' };

    public override string ToString() =>
        $"{Symbol} {Plan.Noun(ResourceType)} {Name}" + (Details.Length == 0 ? "" : Kind is PlanStepKind.Create or PlanStepKind.Remove ? $" ({Details})" : $": {Details}");
}

/// <summary>Something that keeps the plan from being applied as it is (a name taken by a foreign domain, a missing image...).</summary>
public sealed record PlanProblem(PlanResourceType ResourceType, string Name, string Message)
{
    public override string ToString() => $"! {Plan.Noun(ResourceType)} {Name}: {Message}";
}

/// <summary>The ordered steps that bring the fleet to what a playbook says; empty when it already is.</summary>
public sealed class Plan
{
    public required string Playbook { get; init; }
    public string? Environment { get; init; }
    public IReadOnlyList<PlanStep> Steps { get; init; } = [];
    /// <summary>Apply only when this is empty.</summary>
    public IReadOnlyList<PlanProblem> Problems { get; init; } = [];
    /// <summary>Instances the playbook created and no longer lists, kept because prune was off.</summary>
    public IReadOnlyList<Instance> Unlisted { get; init; } = [];
    /// <summary>Listed instances that live on inventory hosts outside the playbook's selection: left alone.</summary>
    public IReadOnlyList<Instance> Outside { get; init; } = [];
    /// <summary>Selected hosts that did not answer: the plan covers only the others.</summary>
    public IReadOnlyList<string> Unread { get; init; } = [];
    public bool Incomplete => Unread.Count > 0;

    public bool HasChanges => Steps.Count > 0;
    public int Count(PlanStepKind kind) => Steps.Count(s => s.Kind == kind);

    /// <summary>The plan as a readable diff: one line per step (+ create, ~ change or operate, - remove), then a summary.</summary>
    public string ToDiffText()
    {
        var sb = new StringBuilder();
        foreach (var s in Steps) sb.Append(s).Append('\n');
        foreach (var p in Problems) sb.Append(p).Append('\n');
        if (Unlisted.Count > 0)
            sb.Append($"# kept, no longer listed (prune removes them): {string.Join(", ", Unlisted.Select(i => i.Name))}\n");
        if (Outside.Count > 0)
            sb.Append($"# outside the selected hosts, left alone: {string.Join(", ", Outside.Select(i => $"{i.Name} ({i.Host})"))}\n");
        if (Incomplete)
            sb.Append($"Incomplete: {string.Join(", ", Unread)} did not answer; what {(Unread.Count == 1 ? "it holds" : "they hold")} is not in this plan.\n");
        sb.Append(Steps.Count == 0
            ? Incomplete ? "No changes on the hosts that answered." : "No changes."
            : $"Plan: {Count(PlanStepKind.Create)} to create, {Count(PlanStepKind.Change)} to change, " +
              $"{Count(PlanStepKind.Operate)} to operate, {Count(PlanStepKind.Remove)} to remove.");
        if (Problems.Count > 0)
            sb.Append($"\n{Problems.Count} problem{(Problems.Count == 1 ? "" : "s")} to fix before this plan can be applied.");
        return sb.ToString();
    }

    internal static string Noun(PlanResourceType t) => t switch
    {
        PlanResourceType.KeyPair => "keypair",
        PlanResourceType.SecurityGroup => "security group",
        _ => t.ToString().ToLowerInvariant(),
    };
}
