using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace VirtFleet.Shell;

/// <summary>The host's user interface over a <see cref="Terminal"/> (this console, or a client's for the warm shell).</summary>
internal sealed class ConsoleUI : PSHostUserInterface
{
    private readonly ConsoleRawUI _raw;
    private bool _progressShown;

    public ConsoleUI(Terminal terminal)
    {
        Terminal = terminal;
        _raw = new ConsoleRawUI(this);
    }

    /// <summary>Where text goes; the warm shell sets it for each command it runs.</summary>
    public Terminal Terminal { get; set; }

    public override PSHostRawUserInterface RawUI => _raw;
    public override bool SupportsVirtualTerminal => Terminal.Colors;

    // Escape sequences only to a terminal; $PSStyle.OutputRendering decides as in pwsh.
    private string Render(string text) => GetOutputString(text, Terminal.Colors);

    public override void Write(string value) => Terminal.Out(Render(value));
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Terminal.Out(Render(value));
    public override void WriteLine(string value) => Terminal.Out(Render(value) + Environment.NewLine);
    public override void WriteErrorLine(string value) { ClearProgress(); Terminal.Error(value + Environment.NewLine); }
    public override void WriteDebugLine(string message) => WriteErrorLine("DEBUG: " + message);
    public override void WriteVerboseLine(string message) => WriteErrorLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => WriteErrorLine("WARNING: " + message);
    // Write-Host style messages arrive through Write/WriteLine; the record itself is for transcripts.
    public override void WriteInformation(InformationRecord record) { }

    public void WriteError(ErrorRecord record)
    {
        var who = record.InvocationInfo?.MyCommand?.Name;
        var message = record.ErrorDetails?.Message ?? record.Exception?.Message ?? record.ToString();
        WriteErrorLine(string.IsNullOrEmpty(who) ? message : $"{who}: {message}");
    }

    /// <summary>Progress as one redrawn line on a terminal; nothing when stderr is a log file.</summary>
    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        if (!Terminal.ErrorIsTerminal) return;
        if (record.RecordType == ProgressRecordType.Completed) { ClearProgress(); return; }
        var pct = Math.Clamp(record.PercentComplete, 0, 100);
        var bar = record.PercentComplete >= 0 ? "[" + new string('#', pct / 5).PadRight(20) + $"] {pct,3}% " : "";
        var text = $"{record.Activity}: {bar}{record.StatusDescription}";
        var width = Math.Max(20, _raw.BufferSize.Width - 1);
        if (text.Length > width) text = text[..width];
        Terminal.Error("\r" + text.PadRight(width));
        _progressShown = true;
    }

    public void ClearProgress()
    {
        if (!_progressShown) return;
        Terminal.Error("\r" + new string(' ', Math.Max(20, _raw.BufferSize.Width - 1)) + "\r");
        _progressShown = false;
    }

    public override string ReadLine() => Interactive ? Terminal.ReadLine() ?? "" : throw NotInteractive();

    public override SecureString ReadLineAsSecureString()
    {
        if (!Interactive) throw NotInteractive();
        var s = new SecureString();
        foreach (var c in Terminal.ReadSecret()) s.AppendChar(c);
        s.MakeReadOnly();
        return s;
    }

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
    {
        if (!Interactive) throw NotInteractive();
        if (!string.IsNullOrEmpty(caption)) WriteLine(caption);
        if (!string.IsNullOrEmpty(message)) WriteLine(message);
        var result = new Dictionary<string, PSObject>();
        foreach (var d in descriptions)
        {
            Write(d.Name + ": ");
            result[d.Name] = d.ParameterTypeFullName == typeof(SecureString).FullName
                ? new PSObject(ReadLineAsSecureString())
                : new PSObject(ReadLine());
        }
        return result;
    }

    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        if (!Interactive) throw NotInteractive();
        if (!string.IsNullOrEmpty(caption)) WriteLine(caption);
        if (!string.IsNullOrEmpty(message)) WriteLine(message);
        var keys = choices.Select(HotKey).ToList();
        var menu = string.Join("  ", choices.Select((c, i) => $"[{keys[i]}] {c.Label.Replace("&", "")}"));
        while (true)
        {
            var def = defaultChoice >= 0 ? $" (default is \"{keys[defaultChoice]}\")" : "";
            Write($"{menu}{def}: ");
            var answer = (Terminal.ReadLine() ?? "").Trim();
            if (answer.Length == 0 && defaultChoice >= 0) return defaultChoice;
            var idx = keys.FindIndex(k => string.Equals(k, answer, StringComparison.OrdinalIgnoreCase));
            if (idx < 0) idx = choices.ToList().FindIndex(c => string.Equals(c.Label.Replace("&", ""), answer, StringComparison.OrdinalIgnoreCase));
            if (idx >= 0) return idx;
        }
    }

    private static string HotKey(ChoiceDescription c)
    {
        var i = c.Label.IndexOf('&');
        return i >= 0 && i + 1 < c.Label.Length ? c.Label[i + 1].ToString().ToUpperInvariant() : c.Label;
    }

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        PromptForCredential(caption, message, userName, targetName, PSCredentialTypes.Default, PSCredentialUIOptions.Default);

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
    {
        if (!Interactive) throw NotInteractive();
        WriteLine(message);
        if (string.IsNullOrEmpty(userName)) { Write("User: "); userName = ReadLine(); }
        Write("Password for " + userName + ": ");
        return new PSCredential(userName, ReadLineAsSecureString());
    }

    /// <summary>A scheduler (cron, CI) has no terminal: prompts fail instead of blocking.</summary>
    private bool Interactive => Terminal.Interactive;

    private static HostException NotInteractive() =>
        new("vfsh is not interactive (no terminal on standard input); pass -Confirm:$false or the value as a parameter.");
}
