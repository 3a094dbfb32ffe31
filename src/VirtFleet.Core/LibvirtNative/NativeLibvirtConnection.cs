using System.Runtime.InteropServices;
using System.Text;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// One connection to a libvirtd through libvirt's C API (libvirt.so.0). Exposes domains and networks as VirtFleet's own
/// records and lifecycle actions by name; no libvirt type leaves this class. libvirt connections are thread-safe, and
/// libvirt keeps its last error per thread, read right after the failing call on the same thread.
/// </summary>
public sealed class NativeLibvirtConnection : IDisposable
{
    private readonly ConnectHandle _conn;

    private NativeLibvirtConnection(ConnectHandle conn, string uri)
    {
        _conn = conn;
        Uri = uri;
    }

    /// <summary>The URI this connection was opened with.</summary>
    public string Uri { get; }

    /// <summary>Opens a connection (read-write) to the libvirtd at <paramref name="uri"/>, e.g. qemu:///system.</summary>
    /// <exception cref="VfException">LibvirtUnavailable without libvirt.so.0; LibvirtConnectFailed (or LibvirtAuthFailed) with libvirt's message.</exception>
    public static NativeLibvirtConnection Open(string uri)
    {
        LibvirtUri.Validate(uri);
        NativeLibvirt.EnsureReady();
        var conn = LibvirtApi.virConnectOpen(uri);
        if (conn.IsInvalid)
        {
            conn.SetHandleAsInvalid();
            throw LibvirtErrors.Last("connect to libvirt", uri, connecting: true);
        }
        return new NativeLibvirtConnection(conn, uri);
    }

    /// <summary>Opens the qemu libvirtd listening on the UNIX socket at <paramref name="socketPath"/>.</summary>
    public static NativeLibvirtConnection OpenSocket(string socketPath) => Open(LibvirtUri.ForSocket(socketPath));

    /// <summary>False once the connection to libvirtd is lost (virConnectIsAlive), or after Dispose.</summary>
    public bool IsAlive => !_conn.IsClosed && LibvirtApi.virConnectIsAlive(_conn) == 1;

    /// <summary>The host name of the machine libvirtd runs on.</summary>
    public string Hostname => TakeString(LibvirtApi.virConnectGetHostname(Conn), "virConnectGetHostname", Uri);

    /// <summary>The version of the libvirt that libvirtd runs.</summary>
    public Version LibVersion =>
        LibvirtApi.virConnectGetLibVersion(Conn, out var v) == 0
            ? NativeLibvirt.DecodeVersion(v.Value)
            : throw LibvirtErrors.Last("virConnectGetLibVersion", Uri);

    // Change watches: one static callback for every connection and event id, finding its watcher by the connection.
    private static readonly LibvirtEventApi.AnyDomainEventCallback Changed = OnChanged;
    private static readonly IntPtr ChangedPtr = Marshal.GetFunctionPointerForDelegate(Changed);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<nint, Action<Guid?>> ChangeWatchers = new();
    private readonly List<int> _changeCallbacks = [];

    /// <summary>
    /// Calls <paramref name="changed"/> (on the event loop's thread; it must not block) with a domain's UUID whenever libvirtd
    /// reports any event of it over this connection: lifecycle (defined, undefined, started, stopped, ...), metadata,
    /// devices, tunables, balloon, jobs and the rest: every event id this libvirt knows. Once per connection. Returns false
    /// (and watches nothing) when not even lifecycle events can be had. Blocks for its round trips: call it off the
    /// pipeline thread.
    /// </summary>
    public bool WatchDomainChanges(Action<Guid?> changed)
    {
        if (!ChangeWatchers.TryAdd(_conn.DangerousGetHandle(), changed)) throw new InvalidOperationException("this connection is watched already");
        for (var id = 0; id < LibvirtEventApi.DomainEventIdCount; id++)
        {
            var callback = LibvirtEventApi.virConnectDomainEventRegisterAny(Conn, IntPtr.Zero, id, ChangedPtr, IntPtr.Zero, IntPtr.Zero);
            if (callback >= 0) _changeCallbacks.Add(callback);
            else if (id == LibvirtEventApi.DomainEventIdLifecycle)
            {
                LibvirtApi.virResetLastError();
                ChangeWatchers.TryRemove(_conn.DangerousGetHandle(), out _);
                return false;
            }
            else LibvirtApi.virResetLastError(); // an id this libvirt does not have
        }
        return true;
    }

    private static int OnChanged(IntPtr conn, IntPtr dom)
    {
        // Never let an exception cross into libvirt.
        try
        {
            if (!ChangeWatchers.TryGetValue(conn, out var watcher)) return 0;
            var buffer = new byte[LibvirtApi.UuidStringBufLen];
            watcher(dom != IntPtr.Zero && LibvirtEventApi.DomainUuid(dom, buffer) == 0 ? ParseUuid(buffer) : null);
        }
        catch (Exception) { }
        return 0;
    }

    /// <summary>All domains, defined and transient, running or not. A domain removed while the list is read is left out.</summary>
    /// <param name="includeInfo">Read memory and vCPUs (virDomainGetInfo, a call per domain); without it they are 0.</param>
    public IReadOnlyList<NativeDomain> ListDomains(bool includeXml = false, bool includeInfo = true)
    {
        var handles = TakeArray(LibvirtApi.virConnectListAllDomains(Conn, out var array, 0), array, p => new DomainHandle(p), "virConnectListAllDomains");
        var result = new List<NativeDomain>(handles.Count);
        try
        {
            foreach (var h in handles)
            {
                try { result.Add(Read(h, includeXml, includeInfo)); }
                catch (VfException e) when (e.ErrorId == "LibvirtDomainNotFound") { }
            }
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
        return result;
    }

    /// <summary>
    /// Every domain with its state in ONE libvirt call (virConnectGetAllDomainStats, state group): over a tunnel that is one
    /// round trip where a state per domain would be one each. Each reference keeps its domain for <see cref="GetXml"/>;
    /// the caller disposes them.
    /// </summary>
    public IReadOnlyList<NativeDomainRef> ListDomainStates()
    {
        var count = LibvirtApi.virConnectGetAllDomainStats(Conn, LibvirtApi.StatsState, out var records, 0);
        if (count < 0) throw LibvirtErrors.Last("virConnectGetAllDomainStats", Uri);
        var result = new List<NativeDomainRef>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                // virDomainStatsRecord: virDomainPtr dom; virTypedParameterPtr params; int nparams;
                var record = Marshal.ReadIntPtr(records, i * IntPtr.Size);
                var dom = Marshal.ReadIntPtr(record, 0);
                var parameters = Marshal.ReadIntPtr(record, IntPtr.Size);
                var n = Marshal.ReadInt32(record, 2 * IntPtr.Size);
                var state = 0;
                for (var k = 0; k < n; k++)
                {
                    var p = parameters + k * LibvirtApi.TypedParamSize;
                    if (Marshal.PtrToStringUTF8(p) == "state.state" && Marshal.ReadInt32(p, LibvirtApi.TypedParamTypeOffset) == LibvirtApi.TypedParamInt)
                        state = Marshal.ReadInt32(p, LibvirtApi.TypedParamValueOffset);
                }
                // A reference of our own: the list's is dropped with the list.
                if (LibvirtApi.virDomainRef(dom) < 0) throw LibvirtErrors.Last("virDomainRef", Uri);
                var handle = new DomainHandle(dom);
                var name = Marshal.PtrToStringUTF8(LibvirtApi.virDomainGetName(handle)) ?? "";
                var uuid = new byte[LibvirtApi.UuidStringBufLen];
                if (LibvirtApi.virDomainGetUUIDString(handle, uuid) < 0) { handle.Dispose(); throw LibvirtErrors.Last("virDomainGetUUIDString", name); }
                result.Add(new NativeDomainRef(handle, name, ParseUuid(uuid), state));
            }
        }
        catch
        {
            foreach (var r in result) r.Dispose();
            throw;
        }
        finally
        {
            if (records != IntPtr.Zero) LibvirtApi.virDomainStatsRecordListFree(records);
        }
        return result;
    }

    /// <summary>The XML of a domain listed by <see cref="ListDomainStates"/> (one call; safe from several threads at once).</summary>
    public string GetXml(NativeDomainRef domain)
    {
        _ = Conn;
        return Xml(domain.Handle, domain.Name);
    }

    /// <summary>One domain by name.</summary>
    /// <exception cref="VfException">LibvirtDomainNotFound when there is none.</exception>
    public NativeDomain GetDomain(string name, bool includeXml = true)
    {
        using var d = Lookup(name);
        return Read(d, includeXml);
    }

    /// <summary>The domain's XML (live when it runs), as virsh dumpxml prints it.</summary>
    public string GetDomainXml(string name)
    {
        using var d = Lookup(name);
        return Xml(d, name);
    }

    /// <summary>All networks, active or not.</summary>
    public IReadOnlyList<NativeNetwork> ListNetworks()
    {
        var handles = TakeArray(LibvirtApi.virConnectListAllNetworks(Conn, out var array, 0), array, p => new NetworkHandle(p), "virConnectListAllNetworks");
        try
        {
            var result = new List<NativeNetwork>(handles.Count);
            foreach (var n in handles)
            {
                var name = Marshal.PtrToStringUTF8(LibvirtApi.virNetworkGetName(n)) ?? throw LibvirtErrors.Last("virNetworkGetName", Uri);
                var uuid = new byte[LibvirtApi.UuidStringBufLen];
                if (LibvirtApi.virNetworkGetUUIDString(n, uuid) < 0) throw LibvirtErrors.Last("virNetworkGetUUIDString", name);
                var active = LibvirtApi.virNetworkIsActive(n);
                if (active < 0) throw LibvirtErrors.Last("virNetworkIsActive", name);
                result.Add(new NativeNetwork(name, ParseUuid(uuid), active == 1));
            }
            return result;
        }
        finally
        {
            foreach (var n in handles) n.Dispose();
        }
    }

    /// <summary>Performs <paramref name="action"/> on the domain named <paramref name="name"/>.</summary>
    /// <exception cref="VfException">LibvirtDomainNotFound; LibvirtOperationInvalid (e.g. start a running domain); LibvirtCallFailed.</exception>
    public void Act(string name, NativeDomainAction action)
    {
        using var d = Lookup(name);
        var rc = action switch
        {
            NativeDomainAction.Start => LibvirtApi.virDomainCreate(d),
            NativeDomainAction.Shutdown => LibvirtApi.virDomainShutdown(d),
            NativeDomainAction.Destroy => LibvirtApi.virDomainDestroy(d),
            NativeDomainAction.Suspend => LibvirtApi.virDomainSuspend(d),
            NativeDomainAction.Resume => LibvirtApi.virDomainResume(d),
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "not a lifecycle action"),
        };
        if (rc < 0) throw LibvirtErrors.Last($"{action.ToString().ToLowerInvariant()} domain", name);
    }

    /// <summary>
    /// Moves the running domain <paramref name="name"/> to the libvirtd of <paramref name="destination"/> (virDomainMigrate3,
    /// driven by this process over both connections): live, its non-shared disks copied incrementally onto the images the
    /// destination already has, defined there from <paramref name="destinationXml"/> and undefined here once it runs there;
    /// memory and disks go from qemu to qemu at <paramref name="migrateUri"/> (tcp://destination). Blocks until done.
    /// </summary>
    /// <exception cref="VfException">LibvirtDomainNotFound; LibvirtOperationInvalid; LibvirtCallFailed with libvirt's message.</exception>
    public void MigrateLive(string name, NativeLibvirtConnection destination, string destinationXml, string migrateUri)
    {
        using var d = Lookup(name);
        IntPtr parameters = IntPtr.Zero;
        int count = 0, capacity = 0;
        try
        {
            if (LibvirtApi.virTypedParamsAddString(ref parameters, ref count, ref capacity, "migrate_uri", migrateUri) < 0
                || LibvirtApi.virTypedParamsAddString(ref parameters, ref count, ref capacity, "destination_xml", destinationXml) < 0)
                throw LibvirtErrors.Last("prepare the migration's parameters", name);
            using var moved = LibvirtApi.virDomainMigrate3(d, destination.Conn, parameters, (uint)count, (uint)MigrateFlags.LiveWithDisks);
            if (moved.IsInvalid)
            {
                moved.SetHandleAsInvalid();
                throw LibvirtErrors.Last("migrate domain", name);
            }
        }
        finally
        {
            if (parameters != IntPtr.Zero) LibvirtApi.virTypedParamsFree(parameters, count);
        }
    }

    /// <summary>Aborts the domain's current job (a migration in flight); false when it has none or is gone.</summary>
    public bool AbortJob(string name)
    {
        try
        {
            using var d = Lookup(name);
            if (LibvirtApi.virDomainAbortJob(d) == 0) return true;
            LibvirtApi.virResetLastError();
            return false;
        }
        catch (VfException) { return false; }
    }

    /// <summary>virDomainMigrateFlags VirtFleet uses.</summary>
    [Flags]
    private enum MigrateFlags : uint
    {
        Live = 1, PersistDest = 8, UndefineSource = 16, NonSharedInc = 128, AutoConverge = 8192,
        /// <summary>As the virsh path's <c>migrate --live --persistent --undefinesource --copy-storage-inc --auto-converge</c>.</summary>
        LiveWithDisks = Live | PersistDest | UndefineSource | NonSharedInc | AutoConverge,
    }

    public void Start(string name) => Act(name, NativeDomainAction.Start);
    public void Shutdown(string name) => Act(name, NativeDomainAction.Shutdown);
    public void Destroy(string name) => Act(name, NativeDomainAction.Destroy);
    public void Suspend(string name) => Act(name, NativeDomainAction.Suspend);
    public void Resume(string name) => Act(name, NativeDomainAction.Resume);

    public void Dispose()
    {
        // Each event callback holds the connection: without deregistering, closing would not close it.
        if (!_conn.IsClosed && ChangeWatchers.TryRemove(_conn.DangerousGetHandle(), out _))
            foreach (var callback in _changeCallbacks)
                if (LibvirtEventApi.virConnectDomainEventDeregisterAny(_conn, callback) < 0) LibvirtApi.virResetLastError();
        _conn.Dispose();
    }

    private ConnectHandle Conn
    {
        get
        {
            ObjectDisposedException.ThrowIf(_conn.IsClosed, this);
            return _conn;
        }
    }

    private DomainHandle Lookup(string name)
    {
        ValidateName(name);
        var d = LibvirtApi.virDomainLookupByName(Conn, name);
        if (!d.IsInvalid) return d;
        d.SetHandleAsInvalid();
        throw LibvirtErrors.Last("look up domain", name);
    }

    /// <summary>A name handed to libvirt: present, no control characters (libvirt would refuse them anyway, less clearly).</summary>
    internal static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(char.IsControl)) throw new ArgumentException("a domain name holds no control characters", nameof(name));
    }

    private NativeDomain Read(DomainHandle d, bool includeXml, bool includeInfo = true)
    {
        var name = Marshal.PtrToStringUTF8(LibvirtApi.virDomainGetName(d)) ?? throw LibvirtErrors.Last("virDomainGetName", Uri);
        var uuid = new byte[LibvirtApi.UuidStringBufLen];
        if (LibvirtApi.virDomainGetUUIDString(d, uuid) < 0) throw LibvirtErrors.Last("virDomainGetUUIDString", name);
        if (LibvirtApi.virDomainGetState(d, out var state, out var reason, 0) < 0) throw LibvirtErrors.Last("virDomainGetState", name);
        var info = default(LibvirtApi.DomainInfo);
        if (includeInfo && LibvirtApi.virDomainGetInfo(d, out info) < 0) throw LibvirtErrors.Last("virDomainGetInfo", name);
        return new NativeDomain(name, ParseUuid(uuid), NativeDomainStates.ToInstanceState(state), NativeDomainStates.ToVirshWord(state), reason,
            info.Memory.Value, info.MaxMem.Value, info.NrVirtCpu, includeXml ? Xml(d, name) : null);
    }

    private static string Xml(DomainHandle d, string name) => TakeString(LibvirtApi.virDomainGetXMLDesc(d, 0), "virDomainGetXMLDesc", name);

    /// <summary>A char* libvirt allocated: copied, then freed with free().</summary>
    private static string TakeString(IntPtr p, string operation, string target)
    {
        if (p == IntPtr.Zero) throw LibvirtErrors.Last(operation, target);
        try { return Marshal.PtrToStringUTF8(p)!; }
        finally { LibvirtApi.Free(p); }
    }

    /// <summary>A virConnectListAll* result: each element owned by a handle at once, the array freed with free().</summary>
    private List<T> TakeArray<T>(int count, IntPtr array, Func<IntPtr, T> wrap, string operation) where T : SafeHandle
    {
        if (count < 0) throw LibvirtErrors.Last(operation, Uri);
        var handles = new List<T>(count);
        try
        {
            for (var i = 0; i < count; i++) handles.Add(wrap(Marshal.ReadIntPtr(array, i * IntPtr.Size)));
        }
        finally
        {
            if (array != IntPtr.Zero) LibvirtApi.Free(array);
        }
        return handles;
    }

    internal static Guid ParseUuid(byte[] buffer)
    {
        var end = Array.IndexOf(buffer, (byte)0);
        return Guid.Parse(Encoding.ASCII.GetString(buffer, 0, end < 0 ? buffer.Length : end));
    }
}
