using System.Diagnostics;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Tests;

/// <summary>
/// A host for unit tests of the host scripts: each script runs with the local sh, as SshHost runs it (a subshell, its
/// standard input piped), against stand-ins on PATH for virsh and qemu-img (FakeHost/virsh, FakeHost/qemu-img: a folder
/// of domains instead of libvirt) and a recording wrapper around flock. VirtFleet's store and the lock's folder are
/// folders of the test (their paths are rewritten in the script text, the only change made to it). Every call of a
/// stand-in is recorded (<see cref="Calls"/>); <see cref="Stub"/> replaces any other command.
/// </summary>
public sealed class FakeHost : IRemoteHost, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vf-fakehost-").FullName;
    private int _scripts;

    public FakeHost(string name = "fake")
    {
        Host = new HostEntry { Name = name, Address = "127.0.0.1" };
        foreach (var d in new[] { "bin", "stubs", "store", "lock", "domains" }) Directory.CreateDirectory(Path.Combine(_dir, d));
        foreach (var tool in new[] { "virsh", "qemu-img" })
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "FakeHost", tool), Path.Combine(_dir, "stubs", tool));
            Stub(tool, $"exec sh \"$FAKE/stubs/{tool}\" \"$@\"");
        }
        Stub("flock", "exec /usr/bin/flock \"$@\"");
        // The lock's prelude asks to be root and for a root-only folder: the test's folder stands in for it.
        Stub("id", "[ \"$1\" = -u ] && { echo 0; exit 0; }; exec /usr/bin/id \"$@\"");
        Stub("install", "for a; do :; done; mkdir -p -- \"$a\"");
        Stub("stat", "echo 0:700");
        // Nothing of the machine's own firewall is read.
        foreach (var t in new[] { "iptables-save", "ip6tables-save" }) Stub(t, "exit 0");
    }

    public HostEntry Host { get; }
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The host's own folder ($FAKE in its stand-ins).</summary>
    public string FakeDir => _dir;
    /// <summary>The folder standing in for VirtFleet's store (/var/lib/libvirt/virtfleet).</summary>
    public string Store => Path.Combine(_dir, "store");
    /// <summary>The folder standing in for the lock's folder (/run/virtfleet).</summary>
    public string LockDir => Path.Combine(_dir, "lock");
    /// <summary>The scripts this host ran, as it got them.</summary>
    public List<string> Scripts { get; } = [];

    /// <summary>Every call of a stand-in so far: the command and its arguments, space-separated.</summary>
    public IReadOnlyList<string> Calls =>
        File.Exists(Path.Combine(_dir, "calls.log")) ? File.ReadAllLines(Path.Combine(_dir, "calls.log")) : [];

    /// <summary>Replaces a command on the host's PATH by shell text (its calls are recorded first).</summary>
    public void Stub(string command, string body)
    {
        var path = Path.Combine(_dir, "bin", command);
        // One write a call, so calls made side by side never share a line.
        File.WriteAllText(path, $"#!/bin/sh\nprintf '%s%s\\n' {command} \"$(printf ' %s' \"$@\")\" >> \"$FAKE/calls.log\"\n{body}\n",
            new System.Text.UTF8Encoding(false));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>A domain libvirt would know: its name, uuid, state, XML and (VirtFleet's) metadata.</summary>
    public void AddDomain(string name, Guid uuid, string state, string xml, string? metadata = null)
    {
        var d = Path.Combine(_dir, "domains", name);
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "uuid"), uuid + "\n");
        File.WriteAllText(Path.Combine(d, "state"), state + "\n");
        File.WriteAllText(Path.Combine(d, "xml"), xml + "\n");
        if (metadata is not null) File.WriteAllText(Path.Combine(d, "meta"), metadata + "\n");
    }

    public bool HasDomain(string name) => Directory.Exists(Path.Combine(_dir, "domains", name));
    public string DomainState(string name) => File.ReadAllText(Path.Combine(_dir, "domains", name, "state")).Trim();

    public async Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        Scripts.Add(script);
        var text = script.Replace(HostPaths.Store, Store).Replace(HostLock.LockDirectory, LockDir);
        var file = Path.Combine(_dir, $"script-{Interlocked.Increment(ref _scripts)}.sh");
        await File.WriteAllTextAsync(file, text, ct);
        var psi = new ProcessStartInfo("/bin/sh", ["-c", "( eval \"$(cat \"$1\")\" )", "sh", file])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            Environment =
            {
                ["PATH"] = Path.Combine(_dir, "bin") + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["FAKE"] = _dir, ["LC_ALL"] = "C",
            },
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        if (stdin is not null) await p.StandardInput.BaseStream.WriteAsync(stdin, ct);
        p.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout ?? CommandTimeout);
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new VfException("CommandTimeout", FailureKind.OperationTimeout, $"{Host.Name}: the command timed out", Host.Name);
        }
        return new CommandResult(p.ExitCode, await stdout, await stderr);
    }

    public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct)
    {
        var target = remotePath.Replace(HostPaths.Store, Store);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(localPath, target, overwrite: true);
        return Task.CompletedTask;
    }

    public Task DownloadAsync(string remotePath, string localPath, IProgress<long>? progress, CancellationToken ct)
    {
        File.Copy(remotePath.Replace(HostPaths.Store, Store), localPath, overwrite: true);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
