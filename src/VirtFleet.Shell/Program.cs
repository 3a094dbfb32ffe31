using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace VirtFleet.Shell;

/// <summary>
/// vfsh: runs PowerShell on the engine package where pwsh is not installed.
///   vfsh -Command "Get-VfHost | Test-VfHost"
///   vfsh -File runbook.ps1 [args]
///   vfsh                      (interactive prompt)
/// Exit code: the script's `exit N`, else 1 when any error was written, else 0.
/// On Linux and macOS a -Command or -File goes to the user's warm shell when one is free (WarmShellClient), so a
/// one-shot command does not pay the engine's start; Main touches no PowerShell type until it runs one itself.
/// </summary>
public static class Program
{
    private const string TelemetryOptOut = "POWERSHELL_TELEMETRY_OPTOUT";

    public static int Main(string[] args)
    {
        // vfsh is not pwsh: the engine's usage telemetry (a thread and an Application Insights client in every process) stays
        // off unless the user turned it on (POWERSHELL_TELEMETRY_OPTOUT=0). Set before the engine starts, and inherited by the
        // warm shell this process may start.
        if (Environment.GetEnvironmentVariable(TelemetryOptOut) is null) Environment.SetEnvironmentVariable(TelemetryOptOut, "1");
        string? command = null, file = null;
        var fileArgs = new List<string>();
        var noModule = false;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (file is not null) { fileArgs.Add(a); continue; }
            switch (a.ToLowerInvariant())
            {
                case "-command" or "-c" when i + 1 < args.Length:
                    command = string.Join(' ', args[(i + 1)..]); i = args.Length; break;
                case "-file" or "-f" when i + 1 < args.Length:
                    file = args[++i]; break;
                case "-nomodule": noModule = true; break;
                case "-noprofile" or "-nologo" or "-noninteractive": break;
                case "--serve" when args.Length == 1 && !OperatingSystem.IsWindows():
                    return Serve();
                case "-help" or "-h" or "-?" or "--help":
                    Console.WriteLine("usage: vfsh [-NoModule] [-Command <script> | -File <path> [args] ]");
                    return 0;
                default:
                    Console.Error.WriteLine($"vfsh: unknown argument '{a}'");
                    return 64;
            }
        }

        if (file is not null) file = Path.GetFullPath(file);
        if (!noModule && (command ?? file) is { } text && WarmShellClient.TryRun(file is not null, text, fileArgs, ModuleLocator.Find()) is { } served)
            return served;
        return RunHere(command, file, fileArgs, noModule);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Serve() => OperatingSystem.IsWindows() ? 2 : WarmShellServer.Serve(ModuleLocator.Find());

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int RunHere(string? command, string? file, List<string> fileArgs, bool noModule)
    {
        var host = new ConsoleHost(ConsoleTerminal.Instance);
        var iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows()) iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        if (!noModule) iss.ImportPSModule(ModuleLocator.Find());
        using var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; host.StopCurrent(); };

        if (command is not null) return host.Run(runspace, ps => ps.AddScript(command));
        if (file is not null)
            return host.Run(runspace, ps =>
            {
                ps.AddCommand(file);
                foreach (var a in fileArgs) ps.AddArgument(a);
            });
        return host.Interactive(runspace);
    }
}
