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
