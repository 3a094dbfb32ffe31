using System.Runtime.InteropServices;

namespace VirtFleet.LibvirtNative;

/// <summary>Turns libvirt's last error (virGetLastError, per thread) into a VfException with a specific error id.</summary>
internal static class LibvirtErrors
{
    // virErrorNumber values (libvirt/virterror.h) that callers treat differently.
    internal const int NoSupport = 3;
    internal const int InvalidArg = 8;
    internal const int NoDomain = 42;
    internal const int NoNetwork = 43;
    internal const int AuthFailed = 45;
    internal const int OperationInvalid = 55;

    /// <summary>The code of this thread's pending libvirt error (0: none), left pending.</summary>
    public static int LastCode() => LibvirtApi.virGetLastError() is var ptr && ptr != IntPtr.Zero ? Marshal.ReadInt32(ptr, 0) : 0;

    /// <summary>The pending libvirt error of this thread, reset after reading, as a VfException.</summary>
    public static VfException Last(string operation, string? target, bool connecting = false)
    {
        var ptr = LibvirtApi.virGetLastError();
        int code = 0, domain = 0;
        string? message = null;
        if (ptr != IntPtr.Zero)
        {
            // virError starts with: int code; int domain; char *message; (the rest is not needed)
            code = Marshal.ReadInt32(ptr, 0);
            domain = Marshal.ReadInt32(ptr, 4);
            message = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(ptr, 8));
            LibvirtApi.virResetLastError();
        }
        return Map(code, domain, message, operation, target, connecting);
    }

    /// <summary>The error id and kind for a libvirt error code; the message keeps libvirt's own words.</summary>
    public static VfException Map(int code, int domain, string? message, string operation, string? target, bool connecting = false)
    {
        var text = string.IsNullOrWhiteSpace(message) ? $"libvirt error {code} (domain {domain}), no message" : message.Trim();
        var about = target is null ? "" : $" ({target})";
        if (connecting)
            return code == AuthFailed
                ? new VfException("LibvirtAuthFailed", FailureKind.SecurityError, $"{operation}{about}: {text}", target)
                : new VfException("LibvirtConnectFailed", FailureKind.ConnectionError, $"{operation}{about}: {text}", target);
        return code switch
        {
            NoDomain => new VfException("LibvirtDomainNotFound", FailureKind.ObjectNotFound, $"{operation}{about}: {text}", target),
            NoNetwork => new VfException("LibvirtNetworkNotFound", FailureKind.ObjectNotFound, $"{operation}{about}: {text}", target),
            OperationInvalid => new VfException("LibvirtOperationInvalid", FailureKind.InvalidOperation, $"{operation}{about}: {text}", target),
            InvalidArg => new VfException("LibvirtInvalidArgument", FailureKind.InvalidArgument, $"{operation}{about}: {text}", target),
            AuthFailed => new VfException("LibvirtAuthFailed", FailureKind.SecurityError, $"{operation}{about}: {text}", target),
            _ => new VfException("LibvirtCallFailed", FailureKind.InvalidOperation, $"{operation}{about}: {text}", target),
        };
    }
}
