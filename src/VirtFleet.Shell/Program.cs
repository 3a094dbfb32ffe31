using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace VirtFleet.Shell;

/// <summary>
/// vfsh: runs PowerShell on the engine package where pwsh is not installed.
///   vfsh -Command "Get-VfHost | Test-VfHost"
///   vfsh -File runbook.ps1 [args]
///   vfsh                      (interactive prompt)
/// Exit code: the script's `exit N`, else 1 when any error was written, else 0.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
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
                case "-help" or "-h" or "-?" or "--help":
                    Console.WriteLine("usage: vfsh [-NoModule] [-Command <script> | -File <path> [args] ]");
                    return 0;
                default:
                    Console.Error.WriteLine($"vfsh: unknown argument '{a}'");
                    return 64;
            }
        }

        var host = new ConsoleHost();
        var iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows()) iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        if (!noModule && ModuleLocator.Find() is { } manifest) iss.ImportPSModule(manifest);
        using var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; host.StopCurrent(); };

        if (command is not null) return host.Run(runspace, ps => ps.AddScript(command));
        if (file is not null)
        {
            var path = Path.GetFullPath(file);
            return host.Run(runspace, ps =>
            {
                ps.AddCommand(path);
                foreach (var a in fileArgs) ps.AddArgument(a);
            });
        }
        return host.Interactive(runspace);
    }
}
