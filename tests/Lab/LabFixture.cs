using System.Diagnostics;
using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Lab;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace VirtFleet.Tests.Lab;

/// <summary>
/// A lab fleet shared by the tests of one collection: started through the module exactly as a
/// user would (Start-VfLab), in an in-process PowerShell that tests then drive.
/// </summary>
public abstract class LabFixture : IDisposable
{
    public PowerShellHost Shell { get; } = new();
    public LabStatus Status { get; }
    public abstract int HostCount { get; }

    protected LabFixture()
    {
        var status = Shell.Ok($"Start-VfLab -HostCount {HostCount} -Confirm:$false").Single().BaseObject;
        Status = (LabStatus)status;
        // The lab may have more hosts than this collection wants (up N never removes hosts); Start-VfLab
        // registered the first N, and the tests look at those only.
        var extra = Status.Hosts.Select(h => h.Name).Where(n => int.Parse(n[3..]) > HostCount).ToList();
        Status = new LabStatus
        {
            StateDir = Status.StateDir, Bridge = Status.Bridge, AdminAddress = Status.AdminAddress, KeyFile = Status.KeyFile,
            KnownHosts = Status.KnownHosts, SshConfig = Status.SshConfig, AnsibleInventory = Status.AnsibleInventory,
            Hosts = Status.Hosts.Where(h => !extra.Contains(h.Name)).ToList(),
        };
    }

    /// <summary>Runs a command inside a lab host (its network and mount namespaces) from the admin side.</summary>
    public (int Code, string Out) InHost(string host, string command)
    {
        var h = Status.Hosts.Single(x => x.Name == host);
        return Sh($"nsenter -t {h.Pid} -m -n sh -c {Transport.ShellQuote.Quote(command)}");
    }

    /// <summary>
    /// Fault injection for tests (nothing of it ships in the product): <paramref name="tool"/> (virsh, qemu-img) on one
    /// lab host is overlaid, in that host's mount namespace only, by a wrapper that runs the real tool and, once, right
    /// after a successful call whose arguments include the word <paramref name="match"/>, kills the SSH session that ran
    /// it with every process between (the client sees its connection drop, the script stops there). Dispose removes it.
    /// </summary>
    public IDisposable DropSessionAfter(string host, string tool, string match)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(tool + match, "^[a-z-]+$")) throw new ArgumentException("tool and match are plain words");
        var wrapper = $$"""
            #!/bin/sh
            /run/vftest/{{tool}}.real "$@"; rc=$?
            case " $* " in *" {{match}} "*) ;; *) exit $rc ;; esac
            [ "$rc" -eq 0 ] && rm /run/vftest/armed.{{tool}} 2>/dev/null || exit $rc
            p=$PPID; pids=
            while [ "$p" -gt 1 ]; do pids="$p $pids"; [ "$(cat /proc/$p/comm)" = sshd ] && break; p=$(cut -d' ' -f4 /proc/$p/stat); done
            # sshd first: the connection drops before a shell of the session can write its command's end (killed the
            # other way round, the session's shell sometimes answered "exit 137" first, a failed command, not a lost one).
            kill -9 $pids
            exit 137
            """;
        var setup = $"""
            set -e
            real=$(command -v {tool})
            mkdir -p /run/vftest
            cp "$real" /run/vftest/{tool}.real
            printf '%s\n' {Transport.ShellQuote.Quote(wrapper)} > /run/vftest/{tool}.fault
            chmod 755 /run/vftest/{tool}.fault
            touch /run/vftest/armed.{tool}
            mount --bind /run/vftest/{tool}.fault "$real"
            """;
        var (code, output) = InHost(host, setup);
        if (code != 0) throw new InvalidOperationException($"fault injection on {host} failed: {output}");
        return new Cleanup(() => InHost(host, $"umount \"$(command -v {tool})\"; rm -rf /run/vftest"));
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    public static (int Code, string Out) Sh(string command, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(true); throw new TimeoutException(command); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public void Dispose() => Shell.Dispose();
}

public sealed class ThreeHostLab : LabFixture { public override int HostCount => 3; }
public sealed class EightHostLab : LabFixture { public override int HostCount => 8; }

[CollectionDefinition("lab3")] public sealed class Lab3Collection : ICollectionFixture<ThreeHostLab>;
[CollectionDefinition("lab8")] public sealed class Lab8Collection : ICollectionFixture<EightHostLab>;
