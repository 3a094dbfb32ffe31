using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// A connection of its own to one libvirtd that reports every domain's lifecycle events (virConnectDomainEventRegisterAny),
/// with keepalive so a dead host or tunnel is noticed (the close callback then reports it). Callbacks come on the event
/// loop's thread and only hand over the event; nothing here blocks that thread.
/// </summary>
public sealed class NativeEventWatch : IDisposable
{
    // One static callback of each kind for every watch, kept alive for the process (libvirt holds the pointers); the
    // opaque pointer is the watch's key in Watches.
    private static readonly LibvirtEventApi.LifecycleCallback Lifecycle = OnLifecycle;
    private static readonly LibvirtEventApi.CloseCallback Closed = OnClosed;
    private static readonly IntPtr LifecyclePtr = Marshal.GetFunctionPointerForDelegate(Lifecycle);
    private static readonly IntPtr ClosedPtr = Marshal.GetFunctionPointerForDelegate(Closed);
    private static readonly ConcurrentDictionary<nint, NativeEventWatch> Watches = new();
    private static long _keys;

    private readonly ConnectHandle _conn;
    private readonly nint _key;
    private readonly Action<string, Guid?, int, int> _onEvent;
    private readonly Action<VfException> _onLost;
    private int _callbackId = -1;
    private bool _closeRegistered;
    private int _disposed;

    private NativeEventWatch(ConnectHandle conn, string uri, Action<string, Guid?, int, int> onEvent, Action<VfException> onLost)
    {
        _conn = conn;
        Uri = uri;
        _onEvent = onEvent;
        _onLost = onLost;
        _key = (nint)Interlocked.Increment(ref _keys);
    }

    public string Uri { get; }

    /// <summary>
    /// Opens <paramref name="uri"/> and subscribes: once this returns, every lifecycle event goes to <paramref name="onEvent"/>
    /// (name, uuid, virDomainEventType, detail) on the event loop's thread; a lost connection (keepalive: no answer for
    /// <paramref name="keepAliveInterval"/> × <paramref name="keepAliveCount"/> seconds; EOF; error) goes once to
    /// <paramref name="onLost"/>. Blocks while it connects: call it off the pipeline thread.
    /// </summary>
    /// <exception cref="VfException">LibvirtUnavailable, LibvirtConnectFailed, LibvirtCallFailed.</exception>
    public static NativeEventWatch Open(string uri, Action<string, Guid?, int, int> onEvent, Action<VfException> onLost,
        int keepAliveInterval = 5, uint keepAliveCount = 3)
    {
        LibvirtUri.Validate(uri);
        NativeLibvirt.EnsureReady();
        var conn = LibvirtApi.virConnectOpen(uri);
        if (conn.IsInvalid)
        {
            conn.SetHandleAsInvalid();
            throw LibvirtErrors.Last("connect to libvirt for events", uri, connecting: true);
        }
        var watch = new NativeEventWatch(conn, uri, onEvent, onLost);
        Watches[watch._key] = watch;
        try
        {
            // 1: the daemon does not do keepalive (then a dead peer is noticed only by the socket); -1: an error, but
            // "not supported" is a driver with no peer to lose (an in-process one, as the test driver).
            if (LibvirtEventApi.virConnectSetKeepAlive(conn, keepAliveInterval, keepAliveCount) < 0)
            {
                if (LibvirtErrors.LastCode() != LibvirtErrors.NoSupport) throw LibvirtErrors.Last("virConnectSetKeepAlive", uri);
                LibvirtApi.virResetLastError();
            }
            if (LibvirtEventApi.virConnectRegisterCloseCallback(conn, ClosedPtr, watch._key, IntPtr.Zero) < 0)
                throw LibvirtErrors.Last("virConnectRegisterCloseCallback", uri);
            watch._closeRegistered = true;
            var id = LibvirtEventApi.virConnectDomainEventRegisterAny(conn, IntPtr.Zero, LibvirtEventApi.DomainEventIdLifecycle, LifecyclePtr, watch._key, IntPtr.Zero);
            if (id < 0) throw LibvirtErrors.Last("virConnectDomainEventRegisterAny", uri);
            watch._callbackId = id;
            return watch;
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    private static int OnLifecycle(IntPtr conn, IntPtr dom, int eventType, int detail, IntPtr opaque)
    {
        // Never let an exception cross into libvirt.
        try
        {
            if (!Watches.TryGetValue(opaque, out var watch) || watch._disposed != 0) return 0;
            var name = Marshal.PtrToStringUTF8(LibvirtEventApi.DomainName(dom)) ?? "";
            var buffer = new byte[LibvirtApi.UuidStringBufLen];
            Guid? uuid = LibvirtEventApi.DomainUuid(dom, buffer) == 0 ? NativeLibvirtConnection.ParseUuid(buffer) : null;
            watch._onEvent(name, uuid, eventType, detail);
        }
        catch (Exception) { /* a broken event is dropped, the loop goes on */ }
        return 0;
    }

    private static void OnClosed(IntPtr conn, int reason, IntPtr opaque)
    {
        try
        {
            if (!Watches.TryGetValue(opaque, out var watch) || watch._disposed != 0) return;
            var why = reason switch { 0 => "a connection error", 1 => "end of file from the daemon", 2 => "no keepalive answer", _ => "closed" };
            watch._onLost(new VfException(reason == 2 ? "LibvirtKeepaliveTimeout" : "LibvirtConnectionLost",
                reason == 2 ? FailureKind.OperationTimeout : FailureKind.ConnectionError,
                $"The libvirt connection for events ({watch.Uri}) was lost: {why}.", watch.Uri));
        }
        catch (Exception) { }
    }

    /// <summary>Unsubscribes and closes the connection (quietly when the peer is gone already).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (!_conn.IsInvalid && !_conn.IsClosed)
        {
            if (_callbackId >= 0 && LibvirtEventApi.virConnectDomainEventDeregisterAny(_conn, _callbackId) < 0) LibvirtApi.virResetLastError();
            if (_closeRegistered && LibvirtEventApi.virConnectUnregisterCloseCallback(_conn, ClosedPtr) < 0) LibvirtApi.virResetLastError();
        }
        _conn.Dispose();
        Watches.TryRemove(_key, out _);
    }
}
