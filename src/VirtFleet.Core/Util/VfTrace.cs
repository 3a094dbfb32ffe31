using System.Diagnostics;

namespace VirtFleet.Util;

/// <summary>
/// A timing trace for finding where an operation spends its time: off unless the environment variable VF_TRACE names a
/// file (appended to; "{pid}" in it becomes the process id) or is "stderr". Each line: milliseconds since the process started, the managed thread, the text.
/// Nothing secret is written (host names, step names, durations and sizes only).
/// </summary>
public static class VfTrace
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    private static readonly object Gate = new();
    private static readonly TextWriter? Sink = Open(Environment.GetEnvironmentVariable("VF_TRACE"));

    public static bool Enabled => Sink is not null;

    /// <summary>Milliseconds since the process started (the trace's clock).</summary>
    public static double Now => Clock.Elapsed.TotalMilliseconds;

    public static void Write(string text)
    {
        if (Sink is null) return;
        var line = $"{Now,10:0.0} t{Environment.CurrentManagedThreadId,-3} {text}";
        lock (Gate) { Sink.WriteLine(line); Sink.Flush(); }
    }

    /// <summary>Writes "<paramref name="what"/> <c>ms</c>" when the returned scope ends (nothing when the trace is off).</summary>
    public static Span Time(string what) => new(Sink is null ? null : what, Now);

    public readonly struct Span(string? what, double start) : IDisposable
    {
        public void Dispose() { if (what is not null) Write($"{what} {Now - start:0.0} ms"); }
    }

    private static TextWriter? Open(string? target)
    {
        if (string.IsNullOrEmpty(target)) return null;
        if (target == "stderr") return Console.Error;
        target = target.Replace("{pid}", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var sink = new StreamWriter(new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            // Where the clock starts: the runtime's and PowerShell's start before it are not in the other lines.
            using var self = Process.GetCurrentProcess();
            sink.WriteLine($"{0.0,10:0.0} t{Environment.CurrentManagedThreadId,-3} trace starts {(DateTime.Now - self.StartTime).TotalMilliseconds:0} ms after the process");
            return sink;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }
}
