using System.ComponentModel;
using System.Diagnostics;
using VirtFleet.Model;

namespace VirtFleet.Transport;

/// <summary>
/// The machine this runs on as a host (Add-VfHost -Local): the session protocol of <see cref="ShellHost"/> on local
/// processes, no SSH. It runs as the current user: root directly, anyone else through `sudo -n`, as an SSH host with sudo
/// does. libvirt calls take libvirt.so on qemu:///system where it loads (a non-root user through sudo -n virt-ssh-helper),
/// else virsh in the local session, the reason in Get-VfConnection. Files are copied directly (to a temporary name, renamed
/// when complete) and a console port needs no forward. Linux only: the hypervisor is this machine.
/// </summary>
public sealed class LocalHost(HostEntry host, SshOptions options) : ShellHost(host, options)
{
    public override string Transport => "local";
    private protected override bool TransportUp => true;
    private protected override bool UsesSudo => !Environment.IsPrivilegedProcess;
    private protected override string SudoUser => Environment.UserName;
    private protected override string RootAdvice => "run as root";
    private protected override string LostSession => "the local shell ended";

    /// <summary>Refuses a machine that cannot be a libvirt host here (Windows, macOS).</summary>
    public static void EnsureSupported(string name)
    {
        if (!OperatingSystem.IsLinux())
            throw new VfException("LocalHostNotSupported", FailureKind.InvalidOperation,
                $"{name}: -Local manages the libvirtd of the machine VirtFleet runs on, which must be a Linux hypervisor; " +
                $"this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}. Add the host by its address instead (over SSH).", name);
    }

    private protected override Task OpenTransportAsync(CancellationToken ct)
    {
        EnsureSupported(Host.Name);
        return Task.CompletedTask;
    }

    private protected override ShellChannel Start(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        // An admin's PATH may lack the sbin folders (iptables, ip) that an SSH login as root has.
        psi.Environment["PATH"] = SearchPath(Environment.GetEnvironmentVariable("PATH"));
        Process process;
        try { process = Process.Start(psi) ?? throw new Win32Exception("no process"); }
        catch (Win32Exception ex)
        {
            throw new VfException("LocalShellFailed", FailureKind.ConnectionError, $"{Host.Name}: could not start /bin/sh ({ex.Message}).", Host.Name, ex);
        }
        return new ShellChannel(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, process.StandardError.BaseStream,
            async () => { await process.WaitForExitAsync(); return process.ExitCode; },
            () =>
            {
                // Ends a command still running (a timeout); a root command under sudo cannot be signalled by this user and
                // ends on its own when its pipes close.
                try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (Exception) { }
                process.Dispose();
            });
    }

    /// <summary>The caller's PATH with the standard sbin and bin folders it lacks appended.</summary>
    internal static string SearchPath(string? path)
    {
        var dirs = (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var d in new[] { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" })
            if (!dirs.Contains(d)) dirs.Add(d);
        return string.Join(':', dirs);
    }

    /// <summary>Copies a file into place: as root directly, to a temporary name renamed when complete; else through sudo.</summary>
    public override async Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        if (UsesSudo)
        {
            await UploadThroughSudoAsync(localPath, remotePath, progress, ct);
            return;
        }
        EnsureSupported(Host.Name);
        var tmp = remotePath + ".vf-partial";
        try
        {
            await using (var src = File.OpenRead(localPath))
            await using (var dst = new FileStream(tmp, new FileStreamOptions
                   { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                await CopyAsync(src, dst, progress, ct);
            File.Move(tmp, remotePath, overwrite: true);
        }
        catch (Exception ex)
        {
            try { File.Delete(tmp); } catch (Exception) { /* nothing was written */ }
            if (ex is OperationCanceledException && ct.IsCancellationRequested) throw;
            throw new VfException("UploadFailed", ex is UnauthorizedAccessException ? FailureKind.SecurityError : FailureKind.InvalidOperation,
                $"{Host.Name}: copying {Path.GetFileName(localPath)} to {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>Copies a file of this machine (root's, through sudo for another user); a failed copy leaves a partial file for the caller.</summary>
    public override async Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        if (UsesSudo)
        {
            await DownloadThroughSudoAsync(remotePath, localPath, progress, ct);
            return;
        }
        EnsureSupported(Host.Name);
        try
        {
            await using var src = File.OpenRead(remotePath);
            await using var dst = File.Create(localPath);
            await CopyAsync(src, dst, progress, ct);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new VfException("DownloadFailed", FailureKind.InvalidOperation, $"{Host.Name}: copying {remotePath} failed: {ex.Message}", Host.Name, ex);
        }
    }

    /// <summary>The console is on this machine already: the "forward" is the address itself, and closing it does nothing.</summary>
    public override Task<PortForward> ForwardLocalAsync(string remoteAddress, int remotePort, CancellationToken ct) =>
        Task.FromResult(new PortForward(remoteAddress, remotePort, remoteAddress, remotePort, () => { }));

    /// <summary>
    /// As root, libvirt.so connects to this machine's libvirtd itself (qemu:///system, nothing to carry it); another user,
    /// whom libvirtd may refuse, goes as its commands do: the tunnel to `sudo -n virt-ssh-helper qemu:///system`, a local process.
    /// </summary>
    private protected override (string Uri, LibvirtTunnel? Carrier) NativeEndpoint() =>
        UsesSudo ? base.NativeEndpoint() : (HostScripts.HostScript.LibvirtUri, null);

    private protected override string NativeVia => UsesSudo
        ? $"libvirt.so through sudo -n virt-ssh-helper {HostScripts.HostScript.LibvirtUri}, no SSH"
        : $"libvirt.so on {HostScripts.HostScript.LibvirtUri}, no SSH";

    private protected override void CloseTransport() { }
}
