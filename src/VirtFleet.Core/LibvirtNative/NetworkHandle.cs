using Microsoft.Win32.SafeHandles;

namespace VirtFleet.LibvirtNative;

/// <summary>A virNetworkPtr; released with virNetworkFree.</summary>
internal sealed class NetworkHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private NetworkHandle() : base(true) { }

    /// <summary>Takes ownership of a pointer from a virConnectListAllNetworks array.</summary>
    internal NetworkHandle(IntPtr pointer) : base(true) => SetHandle(pointer);

    protected override bool ReleaseHandle() => LibvirtApi.virNetworkFree(handle) == 0;
}
