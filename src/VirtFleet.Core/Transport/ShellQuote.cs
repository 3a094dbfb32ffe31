using System.Text;

namespace VirtFleet.Transport;

/// <summary>
/// The one place that turns arguments into POSIX shell text. Every value is single-quoted
/// (a quote inside becomes '\''), so nothing a user types is ever interpreted by the remote shell.
/// </summary>
public static class ShellQuote
{
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0'))
            throw new VfException("NulInArgument", FailureKind.InvalidArgument, "An argument for a remote command contains a NUL character.");
        if (value.Length > 0 && value.All(IsSafe)) return value;
        return "'" + value.Replace("'", @"'\''") + "'";
    }

    /// <summary>argv -> one command line: program and arguments, each quoted.</summary>
    public static string Join(params IEnumerable<string> argv) => string.Join(' ', argv.Select(Quote));

    /// <summary>Several commands as one shell line, each run even if one fails; `set -e` semantics are the caller's.</summary>
    public static string Sequence(params IEnumerable<IEnumerable<string>> commands) =>
        string.Join("; ", commands.Select(c => Join(c)));

    private static bool IsSafe(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.' or '/' or ':' or '=' or ',' or '+' or '@' or '%';

    /// <summary>Bytes as base64 lines, safe inside a quoted heredoc (the alphabet has no quote or newline).</summary>
    public static string Base64Lines(ReadOnlySpan<byte> data)
    {
        var b64 = Convert.ToBase64String(data);
        var sb = new StringBuilder(b64.Length + b64.Length / 76 + 1);
        for (var i = 0; i < b64.Length; i += 76) sb.Append(b64, i, Math.Min(76, b64.Length - i)).Append('\n');
        return sb.ToString();
    }
}
