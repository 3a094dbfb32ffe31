namespace VirtFleet.Transport;

/// <summary>A reply that broke the session's protocol (<see cref="StreamCursor"/>); its id becomes the error's.</summary>
internal sealed class ReplyException(string errorId, string message) : Exception(message)
{
    public string ErrorId { get; } = errorId;
}
