namespace VirtFleet.Transport;

/// <summary>
/// A command a <see cref="ShellHost"/> started on its host (an SSH exec channel, or a local process): its three streams,
/// its exit code once it ends, and <see cref="Dispose"/>, which ends it.
/// </summary>
internal sealed class ShellChannel(Stream stdin, Stream stdout, Stream stderr, Func<Task<int>> exit, Action close) : IDisposable
{
    private Action? _close = close;

    public Stream Stdin { get; } = stdin;
    public Stream Stdout { get; } = stdout;
    public Stream Stderr { get; } = stderr;

    /// <summary>The exit code, once the command has ended (a command reading stdin ends after it is closed).</summary>
    public Task<int> ExitAsync() => exit();

    public void Dispose()
    {
        try { Stdin.Dispose(); } catch (Exception) { /* a dead channel or pipe */ }
        Interlocked.Exchange(ref _close, null)?.Invoke();
    }
}
