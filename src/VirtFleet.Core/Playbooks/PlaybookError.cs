namespace VirtFleet.Playbooks;

/// <summary>One problem in a playbook file, at the line and column (1-based) of the node it is about.</summary>
public sealed record PlaybookError(string File, int Line, int Column, string Message, string ErrorId)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}
