using VirtFleet.Transport;

namespace VirtFleet.Consoles;

/// <summary>
/// A guest's graphical console reachable from this machine (Connect-VfConsole): a local loopback port forwarded over the host's
/// pooled SSH connection to the guest's VNC on the host's loopback. Open <see cref="Uri"/> (or Address:Port) in a VNC viewer;
/// it closes with the session, Disconnect-VfHost, or <see cref="Close"/>.
/// </summary>
public sealed class ConsoleEndpoint(PortForward forward, string name, string host, string? instanceId)
{
    public string Name { get; } = name;
    public string Host { get; } = host;
    public string? InstanceId { get; } = instanceId;
    public string Protocol => "vnc";
    /// <summary>The local address a viewer connects to.</summary>
    public string Address => forward.LocalAddress;
    public int Port => forward.LocalPort;
    public string Uri => $"vnc://{forward.LocalAddress}:{forward.LocalPort}";
    /// <summary>The guest's VNC port on its host's loopback.</summary>
    public int HostPort => forward.RemotePort;

    /// <summary>Stops forwarding (viewers connected through it are cut off).</summary>
    public void Close() => forward.Dispose();

    public override string ToString() => Uri;
}
