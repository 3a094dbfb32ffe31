using System.Security.Cryptography;
using System.Text;

namespace VirtFleet.CloudInit;

/// <summary>One part of a user-data MIME message: typed text (sent base64, so its bytes and line ends are untouched), or a
/// whole MIME message nested as it is (<paramref name="Type"/> "multipart"). A file name is for readers that save parts
/// as files (cloudbase-init runs a script part by its extension).</summary>
public sealed record MimePart(string Type, string Text, string? FileName = null);

/// <summary>multipart/mixed user data, the way cloud-init and cloudbase-init both read it.</summary>
public static class MimeMultipart
{
    /// <summary>
    /// The message. Its boundary is a hash of the content: deterministic, and it cannot occur inside the content it is
    /// derived from.
    /// </summary>
    public static string Build(IReadOnlyList<MimePart> parts)
    {
        var boundary = "==VirtFleet-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\0", parts.Select(p => p.Text)))))[..32] + "==";
        var b = new StringBuilder().Append($"Content-Type: multipart/mixed; boundary=\"{boundary}\"\nMIME-Version: 1.0\n\n");
        foreach (var part in parts)
        {
            b.Append($"--{boundary}\n");
            if (part.Type == "multipart") { b.Append(part.Text).Append(part.Text.EndsWith('\n') ? "" : "\n"); continue; }
            b.Append($"Content-Type: {part.Type}; charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n");
            if (part.FileName is { } name) b.Append($"Content-Disposition: attachment; filename=\"{name}\"\n");
            b.Append('\n')
                .Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(part.Text), Base64FormattingOptions.InsertLineBreaks).ReplaceLineEndings("\n"))
                .Append('\n');
        }
        return b.Append($"--{boundary}--\n").ToString();
    }
}
