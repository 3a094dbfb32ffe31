using System.Runtime.InteropServices;

namespace VirtFleet.LibvirtNative;

/// <summary>
/// Whether this machine has libvirt's client library (libvirt.so.0), and its one-time setup. Everything in VirtFleet
/// works without it (a Windows admin machine talks virsh over SSH); the native path is used only where
/// <see cref="IsAvailable"/> is true.
/// </summary>
public static class NativeLibvirt
{
    private static readonly Lazy<bool> Available = new(() => IsLoadable(LibvirtApi.Library));
    private static readonly Lazy<bool> Initialized = new(Initialize);
    // Kept alive for the process: libvirt holds the function pointer.
    private static readonly LibvirtApi.ErrorFunc Quiet = (_, _) => { };

    /// <summary>
    /// A test hook: when set, the library file whose presence decides <see cref="IsAvailable"/> instead of libvirt.so.0 (a
    /// missing file makes this machine look like one without libvirt, as a Windows admin machine).
    /// </summary>
    public const string LibraryVariable = "VF_LIBVIRT_LIBRARY";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Overrides = new();

    /// <summary>True when libvirt.so.0 loads here and has the entry points VirtFleet calls.</summary>
    public static bool IsAvailable =>
        Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } hook
            ? Overrides.GetOrAdd(hook, IsLoadable)
            : Available.Value;

    /// <summary>libvirt's version as major.minor.release, or null when the library is not available.</summary>
    public static Version? LibraryVersion
    {
        get
        {
            if (!IsAvailable) return null;
            EnsureReady();
            return LibvirtApi.virGetVersion(out var v, IntPtr.Zero, IntPtr.Zero) == 0 ? DecodeVersion(v.Value) : null;
        }
    }

    /// <summary>Loads the named library and looks for the first and last entry points VirtFleet binds; never throws.</summary>
    internal static bool IsLoadable(string libraryName)
    {
        if (string.IsNullOrEmpty(libraryName)) return false;
        if (!NativeLibrary.TryLoad(libraryName, out var handle)) return false;
        return NativeLibrary.TryGetExport(handle, "virConnectOpen", out _)
            && NativeLibrary.TryGetExport(handle, "virConnectListAllDomains", out _)
            && NativeLibrary.TryGetExport(handle, "virDomainGetState", out _);
    }

    /// <summary>libvirt encodes versions as major * 1,000,000 + minor * 1,000 + release.</summary>
    internal static Version DecodeVersion(ulong encoded) =>
        new((int)(encoded / 1_000_000), (int)(encoded / 1_000 % 1_000), (int)(encoded % 1_000));

    /// <summary>
    /// Makes sure libvirt is here and set up: virInitialize once (libvirt wants it before threads use it), and an
    /// error handler that keeps libvirt from printing its errors on stderr (they reach the caller as VfExceptions).
    /// </summary>
    internal static void EnsureReady()
    {
        if (!IsAvailable)
            throw new VfException("LibvirtUnavailable", FailureKind.ResourceUnavailable,
                $"libvirt's client library ({LibvirtApi.Library}) is not available on this machine; use the hosts through SSH (virsh) instead.");
        if (!Initialized.Value)
            throw new VfException("LibvirtUnavailable", FailureKind.ResourceUnavailable, "libvirt failed to initialize (virInitialize).");
    }

    private static bool Initialize()
    {
        if (LibvirtApi.virInitialize() < 0) return false;
        LibvirtApi.virSetErrorFunc(IntPtr.Zero, Quiet);
        // The event loop must be registered before the first connection opens (events and keepalive need it).
        return NativeEventLoop.Start();
    }
}
