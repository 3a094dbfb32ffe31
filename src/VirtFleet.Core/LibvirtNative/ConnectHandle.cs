using Microsoft.Win32.SafeHandles;

namespace VirtFleet.LibvirtNative;

/// <summary>A virConnectPtr; released with virConnectClose.</summary>
internal sealed class ConnectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private ConnectHandle() : base(true) { }

    protected override bool ReleaseHandle() => LibvirtApi.virConnectClose(handle) >= 0;
}
