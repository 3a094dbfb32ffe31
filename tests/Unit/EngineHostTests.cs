using System.Diagnostics;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>vfsh, the engine host for machines without pwsh: as cron or a scheduler would run it.</summary>
public class EngineHostTests
{
    private static string Vfsh => Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Vfsh) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["VIRTFLEET_INVENTORY"] = Path.GetTempFileName();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close(); // no terminal: prompts must fail, not block
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "vfsh did not exit");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void ImportsTheModuleInItsPrivateLoadContext()
    {
        var (code, output, err) = Run("-Command",
            "Get-Command -Module VirtFleet | ForEach-Object Name; Get-VfInstanceType | Out-Null; " +
            "[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Renci.SshNet' } | " +
            "ForEach-Object { 'ssh.net in ' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }");
        Assert.True(code == 0, err);
        Assert.Contains("New-VfInstance", output);
        Assert.Contains("Start-VfLab", output);
        Assert.DoesNotContain("\u001b[", output); // plain text when redirected
    }

    [Fact]
    public void RunbookCmdletsOfTheUtilityAndManagementModulesWork()
    {
        // What a runbook started by cron uses around the VirtFleet cmdlets: they come with the PowerShell SDK.
        var file = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.txt");
        File.WriteAllText(file, "from-a-file");
        try
        {
            var (code, output, err) = Run("-Command",
                "Get-VfInstanceType | Select-Object Name, Vcpus -First 1 | ConvertTo-Json -Compress; " +
                "Get-VfInstanceType | Format-Table -Property Name, MemoryMiB | Out-String -Width 120; " +
                "Start-Sleep -Milliseconds 1; Get-Content -Path '" + file + "'; " +
                "Get-VfInstance | Select-Object Name, State | ConvertTo-Json");
            Assert.True(code == 0, err);
            Assert.DoesNotContain("is not recognized", err);
            Assert.Contains("{\"Name\":\"t1.micro\",\"Vcpus\":1}", output);
            Assert.Matches(@"(?m)^Name\s+MemoryMiB\s*$", output);
            Assert.Contains("from-a-file", output);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void FailedCommandGivesNonZeroExitAndTheErrorOnStderr()
    {
        var (code, _, err) = Run("-Command", "Get-VfHost -Name nosuchhost");
        Assert.Equal(1, code);
        Assert.Contains("nosuchhost", err);
    }

    [Fact]
    public void ExitCodeOfTheScriptIsKept()
    {
        var file = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.ps1");
        File.WriteAllText(file, "param($n) \"arg=$n\"; exit 7");
        var (code, output, _) = Run("-File", file, "x");
        Assert.Equal(7, code);
        Assert.Contains("arg=x", output);
    }

    [Fact]
    public void ConfirmPromptWithoutTerminalFailsInsteadOfBlocking()
    {
        var (code, _, err) = Run("-Command", "Add-VfHost hv1 198.51.100.11 -Confirm");
        Assert.NotEqual(0, code);
        Assert.Contains("not interactive", err);
    }

    [Fact]
    public void WarningsGoToStderr()
    {
        // An empty inventory: Get-VfInstance warns and lists nothing.
        var (code, output, err) = Run("-Command", "Get-VfInstance; 'done'");
        Assert.Equal(0, code);
        Assert.Contains("WARNING: The inventory", err);
        Assert.Contains("done", output);
    }
}
