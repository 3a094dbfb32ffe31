namespace VirtFleet.Playbooks;

/// <summary>What happened to one plan step: Status is Applied, Failed (Message says why) or Skipped (declined, -WhatIf).</summary>
public sealed record PlaybookStepResult(string Symbol, string Kind, string Resource, string Name, string Details, string Status, string? Message)
{
    public static PlaybookStepResult Of(PlanStep s, string status, string? message = null) =>
        new(s.Symbol.ToString(), s.Kind.ToString(), s.ResourceType.ToString(), s.Name, s.Details, status, message);
}
