namespace VirtFleet.Transport;

/// <summary>
/// A local TCP port forwarded over a host's pooled SSH connection to an address and port as the host sees them (a guest's
/// VNC on the host's loopback). No SSH.NET type shows: the forward lives and dies with its connection (Disconnect-VfHost, the
/// end of the session) or ends earlier on <see cref="Dispose"/>.
/// </summary>
public sealed class PortForward(string localAddress, int localPort, string remoteAddress, int remotePort, Action close) : IDisposable
{
    private Action? _close = close;

    /// <summary>The local address the port listens on (loopback).</summary>
    public string LocalAddress { get; } = localAddress;
    public int LocalPort { get; } = localPort;
    /// <summary>Where the host connects each forwarded connection to.</summary>
    public string RemoteAddress { get; } = remoteAddress;
    public int RemotePort { get; } = remotePort;

    /// <summary>Stops listening (connections already forwarded end with it).</summary>
    public void Dispose() => Interlocked.Exchange(ref _close, null)?.Invoke();
}
