using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace VirtFleet.Tests;

/// <summary>
/// The real PowerShell engine, in process, with the built module imported from out/VirtFleet
/// exactly as a user would: Import-Module &lt;path&gt;/VirtFleet.psd1.
/// </summary>
public sealed class PowerShellHost : IDisposable
{
    public static string RepoRoot { get; } = FindRepoRoot();
    public static string ModuleManifest => Path.Combine(RepoRoot, "out", "VirtFleet", "VirtFleet.psd1");

    private readonly Runspace _runspace;

    static PowerShellHost()
    {
        // The tests drive the session's own connections (they count its handshakes, swap host keys, kill its sshd
        // sessions); the keeper's tests turn it on themselves. VF_KEEPER=1 runs them all through the keeper.
        if (Environment.GetEnvironmentVariable("VF_KEEPER") is null) Environment.SetEnvironmentVariable("VF_KEEPER", "0");
    }

    public PowerShellHost(bool importModule = true)
    {
        var iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows()) iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
        if (importModule) Run($"Import-Module '{ModuleManifest}' -ErrorAction Stop");
    }

    public sealed record Result(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors,
        IReadOnlyList<string> Warnings, IReadOnlyList<ProgressRecord> Progress, IReadOnlyList<string> Verbose, IReadOnlyList<string> Information);

    /// <summary>Runs a script; terminating errors throw, non-terminating ones are returned.</summary>
    public Result Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        if (variables is not null)
            foreach (var (k, v) in variables) _runspace.SessionStateProxy.SetVariable(k, v);
        ps.AddScript(script);
        var output = ps.Invoke();
        return new Result(output, ps.Streams.Error.ToList(), ps.Streams.Warning.Select(w => w.Message).ToList(),
            ps.Streams.Progress.ToList(), ps.Streams.Verbose.Select(v => v.Message).ToList(),
            ps.Streams.Information.Select(i => i.MessageData?.ToString() ?? "").ToList());
    }

    /// <summary>Runs a script that must not write any error; returns its output.</summary>
    public Collection<PSObject> Ok(string script, IDictionary<string, object?>? variables = null)
    {
        var r = Run(script, variables);
        if (r.Errors.Count > 0)
            throw new Xunit.Sdk.XunitException("PowerShell errors:\n" + string.Join("\n", r.Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return r.Output;
    }

    public void Dispose() => _runspace.Dispose();

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Directory.Build.props"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
