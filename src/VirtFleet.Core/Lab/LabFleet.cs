using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VirtFleet.Lab;

/// <summary>
/// VirtFleet's embedded fleet: N real hypervisor hosts on this Linux machine, driven by
/// the lab/vflab.sh script that ships with the module. Linux and root only.
/// </summary>
public sealed class LabFleet(string scriptPath, string? stateDir = null)
{
    public static string DefaultStateDir => UserPaths.LabState;

    public string StateDir { get; } = stateDir ?? DefaultStateDir;

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static void EnsureSupported()
    {
        if (!OperatingSystem.IsLinux())
            throw new VfException("LabRequiresLinux", FailureKind.InvalidOperation,
                "The VirtFleet lab runs hypervisor hosts in Linux network namespaces; use a Linux machine, or point VirtFleet at real hosts with Add-VfHost.");
        if (Environment.UserName != "root")
            throw new VfException("LabRequiresRoot", FailureKind.InvalidOperation,
                "The VirtFleet lab creates network namespaces and bridges, which needs root.");
    }

    public Task<LabStatus> StartAsync(int hostCount, CancellationToken ct) =>
        RunThenStatusAsync(["up", hostCount.ToString()], TimeSpan.FromSeconds(60 + hostCount * 5), ct);

    public static string GuestCacheDir => UserPaths.GuestCache;

    /// <summary>Builds (or finds cached) the project's guest images from Debian packages; returns their folders.</summary>
    public async Task<List<string>> BuildGuestImagesAsync(CancellationToken ct)
    {
        var builder = Path.Combine(Path.GetDirectoryName(scriptPath)!, "guest", "build-guest.sh");
        var (code, _, stderr) = await RunAsync([builder, GuestCacheDir], TimeSpan.FromMinutes(5), ct);
        if (code != 0)
            throw new VfException("GuestImageBuildFailed", FailureKind.InvalidOperation, $"build-guest.sh failed (exit {code}): {LastLines(stderr, 15)}");
        return Directory.GetDirectories(GuestCacheDir).Where(d => File.Exists(Path.Combine(d, "image.json"))).Order().ToList();
    }

    public Task<LabStatus> StopAsync(CancellationToken ct) =>
        RunThenStatusAsync(["down"], TimeSpan.FromSeconds(120), ct);

    public async Task<LabStatus> GetStatusAsync(CancellationToken ct)
    {
        var (code, stdout, stderr) = await RunScriptAsync(["status"], TimeSpan.FromSeconds(30), ct);
        if (code != 0)
            throw new VfException("LabStatusFailed", FailureKind.InvalidOperation, $"vflab.sh status failed: {stderr.Trim()}");
        return JsonSerializer.Deserialize<LabStatus>(stdout, Json)
               ?? throw new VfException("LabStatusUnreadable", FailureKind.InvalidData, "vflab.sh status printed no JSON.");
    }

    private async Task<LabStatus> RunThenStatusAsync(string[] args, TimeSpan timeout, CancellationToken ct)
    {
        var (code, _, stderr) = await RunScriptAsync(args, timeout, ct);
        if (code != 0)
            throw new VfException("Lab" + char.ToUpperInvariant(args[0][0]) + args[0][1..] + "Failed", FailureKind.InvalidOperation,
                $"vflab.sh {string.Join(' ', args)} failed (exit {code}): {LastLines(stderr, 15)}");
        return await GetStatusAsync(ct);
    }

    private Task<(int, string, string)> RunScriptAsync(string[] args, TimeSpan timeout, CancellationToken ct) =>
        RunAsync([scriptPath, .. args], timeout, ct);

    private async Task<(int, string, string)> RunAsync(string[] args, TimeSpan timeout, CancellationToken ct)
    {
        EnsureSupported();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["VFLAB_STATE_DIR"] = StateDir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested) throw;
            throw new VfException("LabTimeout", FailureKind.OperationTimeout, $"{Path.GetFileName(args[0])} {string.Join(' ', args.Skip(1))} did not finish within {timeout.TotalSeconds:0} s.");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    private static string LastLines(string text, int n) =>
        string.Join('\n', text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(n));
}
