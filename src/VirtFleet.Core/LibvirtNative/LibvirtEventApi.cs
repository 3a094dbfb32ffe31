using System.Runtime.InteropServices;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// libvirt's event calls (libvirt.so.0): the default event loop, domain lifecycle callbacks, keepalive and the
/// connection close callback. The callbacks run on the event loop's thread (<see cref="NativeEventLoop"/>).
/// </summary>
internal static class LibvirtEventApi
{
    /// <summary>VIR_DOMAIN_EVENT_ID_LIFECYCLE.</summary>
    public const int DomainEventIdLifecycle = 0;

    /// <summary>virConnectDomainEventCallback: (conn, dom, event, detail, opaque); dom is borrowed for the call.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int LifecycleCallback(IntPtr conn, IntPtr dom, int eventType, int detail, IntPtr opaque);

    /// <summary>
    /// Any domain event callback seen through its first two arguments (conn, dom) only: every virConnectDomainEvent*Callback
    /// starts with them, and a cdecl callee may leave the caller's further arguments unread. The int return is what the
    /// lifecycle callback returns; libvirt ignores it and the others' callers ignore it too.
    /// </summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int AnyDomainEventCallback(IntPtr conn, IntPtr dom);

    /// <summary>VIR_DOMAIN_EVENT_ID_LAST in libvirt 9/10 (memory device size change is 26): the ids tried; one the library does not know is refused and skipped.</summary>
    public const int DomainEventIdCount = 27;

    /// <summary>virConnectCloseFunc: (conn, reason, opaque); reason VIR_CONNECT_CLOSE_REASON_ERROR/EOF/KEEPALIVE/CLIENT.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void CloseCallback(IntPtr conn, int reason, IntPtr opaque);

    [DllImport(LibvirtApi.Library)] public static extern int virEventRegisterDefaultImpl();
    [DllImport(LibvirtApi.Library)] public static extern int virEventRunDefaultImpl();

    [DllImport(LibvirtApi.Library)] public static extern int virConnectSetKeepAlive(ConnectHandle conn, int interval, uint count);
    [DllImport(LibvirtApi.Library)] public static extern int virConnectRegisterCloseCallback(ConnectHandle conn, IntPtr cb, IntPtr opaque, IntPtr freeCb);
    [DllImport(LibvirtApi.Library)] public static extern int virConnectUnregisterCloseCallback(ConnectHandle conn, IntPtr cb);
    [DllImport(LibvirtApi.Library)] public static extern int virConnectDomainEventRegisterAny(ConnectHandle conn, IntPtr dom, int eventId, IntPtr cb, IntPtr opaque, IntPtr freeCb);
    [DllImport(LibvirtApi.Library)] public static extern int virConnectDomainEventDeregisterAny(ConnectHandle conn, int callbackId);

    // The domain a callback is given is borrowed (not a handle VirtFleet owns), hence IntPtr.
    [DllImport(LibvirtApi.Library, EntryPoint = "virDomainGetName")] public static extern IntPtr DomainName(IntPtr dom);
    [DllImport(LibvirtApi.Library, EntryPoint = "virDomainGetUUIDString")] public static extern int DomainUuid(IntPtr dom, byte[] buf);
}
