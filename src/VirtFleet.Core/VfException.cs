namespace VirtFleet;

/// <summary>What kind of failure an operation met; the cmdlet layer maps it to an ErrorCategory.</summary>
public enum FailureKind
{
    ConnectionError,
    OperationTimeout,
    SecurityError,
    ObjectNotFound,
    InvalidArgument,
    InvalidOperation,
    ResourceUnavailable,
    InvalidData,
    ResourceExists,
    OperationStopped,
}

/// <summary>A failure with a stable error id (for ErrorRecord.FullyQualifiedErrorId) and a kind.</summary>
public class VfException(string errorId, FailureKind kind, string message, string? target = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string ErrorId { get; } = errorId;
    public FailureKind Kind { get; } = kind;
    /// <summary>The host, instance or object the failure is about, when there is one.</summary>
    public string? Target { get; } = target;
}
