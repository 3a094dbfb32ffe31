namespace VirtFleet.LibvirtNative;

/// <summary>A domain as <see cref="NativeLibvirtConnection.ListDomainStates"/> found it, holding it for further calls.</summary>
public sealed class NativeDomainRef : IDisposable
{
    internal NativeDomainRef(DomainHandle handle, string name, Guid uuid, int state)
    {
        Handle = handle;
        Name = name;
        Uuid = uuid;
        State = state;
    }

    internal DomainHandle Handle { get; }
    public string Name { get; }
    public Guid Uuid { get; }
    /// <summary>virDomainState (see <see cref="NativeDomainStates"/>).</summary>
    public int State { get; }

    public void Dispose() => Handle.Dispose();
}
