using System.Text;
using System.Threading.Channels;

namespace VirtFleet.Transport;

/// <summary>
/// Reads one stream of a session (an SSH channel's or a local process's) up to each reply's marker. SSH.NET's channel
/// streams have no real asynchronous read (a ReadAsync blocks a thread-pool thread until data comes), so a dedicated
/// background thread per stream does the blocking reads and hands the chunks over: waiting readers hold no thread, many
/// hosts answering at once cannot starve the pool, and a command's deadline cancels the wait itself.
/// </summary>
internal sealed class StreamCursor
{
    private readonly Channel<byte[]> _chunks =
        Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly MemoryStream _pending = new();
    private readonly string _what;
    private readonly long _limit;

    /// <param name="limit">The most bytes one reply may hold; a longer one is an <see cref="ReplyException"/>.</param>
    public StreamCursor(Stream stream, string what, long limit)
    {
        _what = what;
        _limit = limit;
        StartPump(stream, what, chunk => _chunks.Writer.TryWrite(chunk), error => _chunks.Writer.TryComplete(error));
    }

    /// <summary>Reads and discards a stream until it ends (a channel's stderr nobody reads).</summary>
    public static void Drain(Stream stream, string what) => StartPump(stream, what, null, null);

    private static void StartPump(Stream stream, string what, Action<byte[]>? chunk, Action<Exception?>? end)
    {
        var thread = new Thread(() =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) chunk?.Invoke(buffer[..n]);
                end?.Invoke(null);
            }
            catch (Exception ex) { end?.Invoke(ex); }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "vf-session " + what };
        thread.Start();
    }

    private async Task ReadMoreAsync(CancellationToken ct)
    {
        if (!await _chunks.Reader.WaitToReadAsync(ct)) throw new EndOfStreamException($"the remote {_what} closed");
        while (_chunks.Reader.TryRead(out var chunk)) _pending.Write(chunk);
        if (_pending.Length > _limit)
            throw new ReplyException("CommandOutputTooLarge",
                $"a command's {_what} output passed {_limit / (1024 * 1024.0):0.#} MiB without ending; it was cut off and the session closed.");
    }

    private string Pending => Encoding.UTF8.GetString(_pending.GetBuffer(), 0, (int)_pending.Length);

    private void Keep(string rest)
    {
        var bytes = Encoding.UTF8.GetBytes(rest);
        _pending.SetLength(0);
        _pending.Write(bytes);
    }

    /// <summary>What the stream still holds and sends until it ends (or <paramref name="wait"/> passes).</summary>
    public async Task<string> ReadToEndAsync(TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try { while (true) await ReadMoreAsync(cts.Token); }
        catch (Exception) { /* ended, timed out or broke: what came is what there is */ }
        return Pending;
    }

    /// <summary>Everything up to the first occurrence of <paramref name="marker"/>; what follows it is kept.</summary>
    public async Task<string> ReadUntilTextAsync(string marker, CancellationToken ct)
    {
        while (true)
        {
            var text = Pending;
            var at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                Keep(text[(at + marker.Length)..]);
                return text[..at];
            }
            await ReadMoreAsync(ct);
        }
    }

    /// <summary>Everything up to a line starting with <paramref name="marker"/>, and the number after it.</summary>
    public async Task<(string Text, int Code)> ReadUntilAsync(string marker, bool withCode, CancellationToken ct)
    {
        var needle = "\n" + marker;
        while (true)
        {
            var text = Pending;
            var at = text.IndexOf(needle, StringComparison.Ordinal);
            var eol = at >= 0 ? text.IndexOf('\n', at + needle.Length) : -1;
            if (eol >= 0)
            {
                var field = text.AsSpan(at + needle.Length, eol - at - needle.Length).Trim();
                var code = 0;
                if (withCode && !int.TryParse(field, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out code))
                    throw new ReplyException("ExitCodeUnreadable",
                        $"the {_what} ended a reply with '{field.ToString()}' where an exit code belongs; the command's outcome is unknown.");
                Keep(text[(eol + 1)..]);
                return (text[..at], code);
            }
            await ReadMoreAsync(ct);
        }
    }
}
