namespace VirtFleet.Transport.Keeper;

/// <summary>The keeper could not be asked (absent, stale, refused, another build): nothing was sent, so the caller connects directly.</summary>
public sealed class KeeperUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
