using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;

namespace VirtFleet.Shell;

/// <summary>A console PSHost: renders output, errors, warnings, verbose, progress; answers prompts.</summary>
internal sealed class ConsoleHost(Terminal terminal) : PSHost
{
    private readonly ConsoleUI _ui = new(terminal);
    private PowerShell? _current;
    private int? _exitCode;

    public override string Name => "vfsh";
    public override Version Version => typeof(ConsoleHost).Assembly.GetName().Version ?? new Version(0, 1);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override void SetShouldExit(int exitCode) => _exitCode = exitCode;
    public override void EnterNestedPrompt() => throw new NotSupportedException("vfsh has no nested prompt.");
    public override void ExitNestedPrompt() { }
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    /// <summary>Where this host's text goes (the warm shell points it at each command's client).</summary>
    public Terminal Terminal { get => _ui.Terminal; set => _ui.Terminal = value; }

    public void StopCurrent() => _current?.BeginStop(null, null);

    /// <summary>
    /// Runs one pipeline through Out-Default; returns the process exit code. <paramref name="stop"/> stops it, also when it was
    /// asked before the pipeline began (a warm shell's caller may press Ctrl+C while its command is still being set up).
    /// </summary>
    public int Run(Runspace runspace, Action<PowerShell> build, CancellationToken stop = default)
    {
        if (stop.IsCancellationRequested) return 130;
        using var ps = PowerShell.Create();
        using var stopping = stop.Register(() => ps.BeginStop(null, null));
        ps.Runspace = runspace;
        build(ps);
        ps.AddCommand("Out-Default");
        var errors = 0;
        ps.Streams.Error.DataAdded += (s, e) => { errors++; _ui.WriteError(((PSDataCollection<ErrorRecord>)s!)[e.Index]); };
        // Warnings, verbose, debug, information and progress reach the host UI from the engine itself;
        // non-terminating errors only reach the error stream, so they are rendered here.
        _current = ps;
        _exitCode = null;
        runspace.SessionStateProxy.SetVariable("LASTEXITCODE", 0);
        try
        {
            ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            errors++;
            _ui.WriteError(ex.ErrorRecord);
        }
        finally
        {
            _current = null;
            _ui.ClearProgress();
        }
        if (_exitCode is { } code) return code;
        if (ps.InvocationStateInfo.State == PSInvocationState.Stopped) return 130;
        // `exit N` inside a script file (-File) ends that script and sets $LASTEXITCODE, as in pwsh.
        if (runspace.SessionStateProxy.GetVariable("LASTEXITCODE") is int last && last != 0) return last;
        return errors > 0 || ps.HadErrors ? 1 : 0;
    }

    public int Interactive(Runspace runspace)
    {
        var last = 0;
        while (true)
        {
            _ui.Write("VF> ");
            var line = Console.ReadLine();
            if (line is null || line.Trim() is "exit" or "quit") return last;
            if (line.Trim().Length == 0) continue;
            last = Run(runspace, ps => ps.AddScript(line));
            if (_exitCode is { } code) return code;
        }
    }
}
