using System.Runtime.InteropServices;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// The libvirt C API calls VirtFleet makes (libvirt.so.0), nothing more. Callers check <see cref="NativeLibvirt.IsAvailable"/>
/// first: the library is resolved lazily at the first call, so on a machine without it (a Windows admin machine) no call
/// here is ever reached. Strings libvirt returns as <c>const char*</c> are owned by libvirt; those it returns as
/// <c>char*</c> are malloc'd and freed here with <see cref="Free"/> (libc free, as libvirt documents).
/// </summary>
internal static class LibvirtApi
{
    public const string Library = "libvirt.so.0";

    // 'unsigned long' is 64 bits on LP64 (Linux) and 32 on LLP64 (Windows): CULong keeps the struct right on both.
    [StructLayout(LayoutKind.Sequential)]
    public struct DomainInfo
    {
        public byte State;
        public CULong MaxMem;
        public CULong Memory;
        public ushort NrVirtCpu;
        public ulong CpuTime;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void ErrorFunc(IntPtr userData, IntPtr error);

    [DllImport(Library)] public static extern int virInitialize();
    [DllImport(Library)] public static extern void virSetErrorFunc(IntPtr userData, ErrorFunc? handler);
    [DllImport(Library)] public static extern IntPtr virGetLastError();
    [DllImport(Library)] public static extern void virResetLastError();
    [DllImport(Library)] public static extern int virGetVersion(out CULong libVer, IntPtr type, IntPtr typeVer);

    [DllImport(Library)] public static extern ConnectHandle virConnectOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string? name);
    [DllImport(Library)] public static extern int virConnectClose(IntPtr conn);
    [DllImport(Library)] public static extern int virConnectIsAlive(ConnectHandle conn);
    [DllImport(Library)] public static extern int virConnectGetLibVersion(ConnectHandle conn, out CULong libVer);
    [DllImport(Library)] public static extern IntPtr virConnectGetHostname(ConnectHandle conn);
    [DllImport(Library)] public static extern int virConnectListAllDomains(ConnectHandle conn, out IntPtr domains, uint flags);
    [DllImport(Library)] public static extern int virConnectListAllNetworks(ConnectHandle conn, out IntPtr networks, uint flags);

    [DllImport(Library)] public static extern DomainHandle virDomainLookupByName(ConnectHandle conn, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);
    [DllImport(Library)] public static extern int virDomainFree(IntPtr domain);
    [DllImport(Library)] public static extern IntPtr virDomainGetName(DomainHandle domain);
    [DllImport(Library)] public static extern int virDomainGetUUIDString(DomainHandle domain, byte[] buf);
    [DllImport(Library)] public static extern int virDomainGetState(DomainHandle domain, out int state, out int reason, uint flags);
    [DllImport(Library)] public static extern IntPtr virDomainGetXMLDesc(DomainHandle domain, uint flags);
    [DllImport(Library)] public static extern int virDomainGetInfo(DomainHandle domain, out DomainInfo info);
    [DllImport(Library)] public static extern int virDomainCreate(DomainHandle domain);
    [DllImport(Library)] public static extern int virDomainRef(IntPtr domain);
    [DllImport(Library)] public static extern int virConnectGetAllDomainStats(ConnectHandle conn, uint stats, out IntPtr records, uint flags);
    [DllImport(Library)] public static extern void virDomainStatsRecordListFree(IntPtr records);

    /// <summary>VIR_DOMAIN_STATS_STATE: the state group of virConnectGetAllDomainStats.</summary>
    public const uint StatsState = 1;
    /// <summary>VIR_TYPED_PARAM_INT.</summary>
    public const int TypedParamInt = 1;
    /// <summary>virTypedParameter: char field[80]; int type; then an 8-byte union, aligned to 8 (96 bytes).</summary>
    public const int TypedParamSize = 96, TypedParamTypeOffset = 80, TypedParamValueOffset = 88;
    [DllImport(Library)] public static extern int virDomainShutdown(DomainHandle domain);
    [DllImport(Library)] public static extern int virDomainDestroy(DomainHandle domain);
    [DllImport(Library)] public static extern DomainHandle virDomainMigrate3(DomainHandle domain, ConnectHandle dconn, IntPtr @params, uint nparams, uint flags);
    [DllImport(Library)] public static extern int virDomainAbortJob(DomainHandle domain);
    [DllImport(Library)] public static extern int virTypedParamsAddString(ref IntPtr @params, ref int nparams, ref int maxparams,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value);
    [DllImport(Library)] public static extern void virTypedParamsFree(IntPtr @params, int nparams);
    [DllImport(Library)] public static extern int virDomainSuspend(DomainHandle domain);
    [DllImport(Library)] public static extern int virDomainResume(DomainHandle domain);

    [DllImport(Library)] public static extern int virNetworkFree(IntPtr network);
    [DllImport(Library)] public static extern IntPtr virNetworkGetName(NetworkHandle network);
    [DllImport(Library)] public static extern int virNetworkGetUUIDString(NetworkHandle network, byte[] buf);
    [DllImport(Library)] public static extern int virNetworkIsActive(NetworkHandle network);

    /// <summary>libc free, for the memory libvirt hands over (char* results, the arrays of virConnectListAll*).</summary>
    [DllImport("libc", EntryPoint = "free")] public static extern void Free(IntPtr ptr);

    /// <summary>VIR_UUID_STRING_BUFLEN: 36 characters and the NUL.</summary>
    public const int UuidStringBufLen = 37;
}
