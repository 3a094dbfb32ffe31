using Microsoft.Win32.SafeHandles;

namespace VirtFleet.LibvirtNative;

/// <summary>A virDomainPtr; released with virDomainFree (it holds a reference on its connection).</summary>
internal sealed class DomainHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private DomainHandle() : base(true) { }

    /// <summary>Takes ownership of a pointer from a virConnectListAllDomains array.</summary>
    internal DomainHandle(IntPtr pointer) : base(true) => SetHandle(pointer);

    protected override bool ReleaseHandle() => LibvirtApi.virDomainFree(handle) == 0;
}
