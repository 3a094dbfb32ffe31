namespace VirtFleet.Consoles;

/// <summary>The tail of an instance's serial console log, as kept on its host (Get-VfConsoleOutput).</summary>
public sealed class ConsoleOutput
{
    public string Name { get; init; } = "";
    public string Host { get; init; } = "";
    public string? InstanceId { get; init; }
    /// <summary>The log's size on the host, bytes.</summary>
    public long Length { get; init; }
    /// <summary>True when only the last part of the log is here (-Tail bytes).</summary>
    public bool Truncated { get; init; }
    /// <summary>The console text (UTF-8; control characters other than newline and tab shown as '?').</summary>
    public string Output { get; init; } = "";

    public override string ToString() => Output;
}
