using System.Text;

namespace VirtFleet.LibvirtNative;

/// <summary>Builds and checks the libvirt connection URIs the native path opens.</summary>
public static class LibvirtUri
{
    /// <summary>The machine's own system libvirtd.</summary>
    public const string LocalSystem = "qemu:///system";

    /// <summary>
    /// qemu+unix:///system?socket=PATH: a libvirtd reached through its UNIX socket at an explicit path (a lab host's
    /// socket seen from the root namespace, or a socket an SSH channel forwards). The path is percent-encoded where it is
    /// not a plain path character, so it cannot add URI parameters.
    /// </summary>
    public static string ForSocket(string socketPath, string driver = "qemu")
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        if (!socketPath.StartsWith('/'))
            throw new ArgumentException($"the libvirt socket path must be absolute: '{socketPath}'", nameof(socketPath));
        if (socketPath.Any(char.IsControl))
            throw new ArgumentException("the libvirt socket path holds a control character", nameof(socketPath));
        if (driver is not ("qemu" or "lxc" or "test"))
            throw new ArgumentException($"unknown libvirt driver '{driver}' (qemu, lxc or test)", nameof(driver));
        var escaped = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(socketPath))
        {
            var c = (char)b;
            if (b < 0x80 && (char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-')) escaped.Append(c);
            else escaped.Append('%').Append(b.ToString("X2"));
        }
        return $"{driver}+unix:///system?socket={escaped}";
    }

    /// <summary>Checks a URI given to <see cref="NativeLibvirtConnection.Open"/>: present, one line, no NUL.</summary>
    public static string Validate(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (uri.Any(char.IsControl) || uri.Any(char.IsWhiteSpace))
            throw new ArgumentException("a libvirt URI has no whitespace or control characters", nameof(uri));
        if (!uri.Contains(":/"))
            throw new ArgumentException($"'{uri}' is not a libvirt URI (like qemu:///system)", nameof(uri));
        return uri;
    }
}
