namespace VirtFleet.Shell;

/// <summary>
/// Where a command's text goes and its answers come from: this process's console, or (for a command the warm shell
/// runs) the console of the vfsh process that sent it. Knows no PowerShell.
/// </summary>
internal abstract class Terminal
{
    /// <summary>Standard output is a terminal and colours are wanted (no NO_COLOR): escape sequences are kept.</summary>
    public abstract bool Colors { get; }
    /// <summary>Standard error is a terminal: progress is drawn there.</summary>
    public abstract bool ErrorIsTerminal { get; }
    /// <summary>Prompts may be answered: standard input is a terminal and no scheduler (CI) runs us.</summary>
    public abstract bool Interactive { get; }
    /// <summary>The width output is formatted to.</summary>
    public abstract int Width { get; }
    public abstract void Out(string text);
    public abstract void Error(string text);
    /// <summary>A line typed by the user; null at the end of input.</summary>
    public abstract string? ReadLine();
    /// <summary>A line typed without echo (passwords).</summary>
    public abstract string ReadSecret();
}

/// <summary>This process's own console.</summary>
internal sealed class ConsoleTerminal : Terminal
{
    public static readonly ConsoleTerminal Instance = new();

    public override bool Colors { get; } = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    public override bool ErrorIsTerminal { get; } = !Console.IsErrorRedirected;
    public override bool Interactive { get; } = !Console.IsInputRedirected && Environment.GetEnvironmentVariable("CI") is null;

    public override int Width
    {
        get
        {
            if (Console.IsOutputRedirected) return 160;
            try { return Math.Max(40, Console.WindowWidth); } catch (IOException) { return 120; }
        }
    }

    public override void Out(string text) => Console.Out.Write(text);
    public override void Error(string text) => Console.Error.Write(text);
    public override string? ReadLine() => Console.ReadLine();

    public override string ReadSecret()
    {
        var s = new System.Text.StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter) break;
            if (k.Key == ConsoleKey.Backspace) { if (s.Length > 0) s.Length--; }
            else s.Append(k.KeyChar);
        }
        Console.Error.WriteLine();
        return s.ToString();
    }
}
