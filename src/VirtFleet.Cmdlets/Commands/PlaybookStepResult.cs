using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>What happened to one plan step.</summary>
public sealed record PlaybookStepResult(string Symbol, string Kind, string Resource, string Name, string Details, string Status, string? Message);
