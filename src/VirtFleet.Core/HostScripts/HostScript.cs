using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using VirtFleet.Transport;

namespace VirtFleet.HostScripts;

/// <summary>How a script takes the host lock (<see cref="HostLock"/>).</summary>
public enum HostLockMode
{
    /// <summary>A read that may see a change half made (listings, probes).</summary>
    None,
    /// <summary>A read that must not see a change half made.</summary>
    Shared,
    /// <summary>Every script that changes a host.</summary>
    Exclusive,
}

/// <summary>
/// The one owner of VirtFleet's host-script protocol. Every script that runs on a host is a .sh file embedded in Core
/// (src/VirtFleet.Core/HostScripts/*.sh, checked in the tests with <c>sh -n</c> and shellcheck) and reaches the host through
/// this type and <see cref="HostBatch"/>:
/// <list type="bullet">
/// <item>its values are bound as shell-quoted variable assignments (<see cref="Set"/>), positional arguments
/// (<see cref="Args"/>) or quoted calls of its own functions (<see cref="Call"/>): no value is ever spliced into a script's text;</item>
/// <item>the libvirt URI (<see cref="LibvirtUri"/>), the store (<c>$VF_STORE</c>) and the virsh wrapper <c>V</c> come from
/// protocol.sh, the prelude of every run;</item>
/// <item>reply markers carry a random nonce per run (<c>@@VF-KIND-$VF_NONCE@@</c>, <see cref="HostMarkers"/>): a domain's
/// name, description or XML, a lease's hostname or a document's text is printed by the scripts but cannot know the nonce,
/// so it cannot forge a marker;</item>
/// <item>a script that changes state says so (<see cref="Locked"/>) and runs under the host lock with its bounds and exit
/// codes (<see cref="HostExit"/>);</item>
/// <item>several scripts go to a host in one round trip as typed steps of a <see cref="HostBatch"/>.</item>
/// </list>
/// </summary>
public sealed partial class HostScript
{
    /// <summary>The libvirt connection every script uses (protocol.sh's <c>$VF_URI</c>).</summary>
    public const string LibvirtUri = "qemu:///system";

    /// <summary>The protocol prelude, run once before the steps of a round trip.</summary>
    internal const string ProtocolName = "protocol";

    private const string ResourcePrefix = "VirtFleet.HostScripts.";
    private static readonly ConcurrentDictionary<string, string> Cache = new();

    private readonly List<string> _includes = [];
    private readonly List<string> _bindings = [];
    private readonly List<string> _calls = [];
    private string? _args;

    private HostScript(string name) => Name = name;

    /// <summary>The script's file name without .sh.</summary>
    public string Name { get; }
    public HostLockMode Lock { get; private set; }
    /// <summary>The host-side bound of a locked script (null: the host's command timeout).</summary>
    public TimeSpan? Bound { get; private set; }
    /// <summary>Bytes the script reads on its standard input (null: none, it reads /dev/null).</summary>
    public byte[]? Stdin { get; private set; }

    /// <summary>A script by its file name (without .sh).</summary>
    public static HostScript Load(string name)
    {
        _ = Text(name);
        return new HostScript(name);
    }

    /// <summary>The text of an embedded script.</summary>
    public static string Text(string name) => Cache.GetOrAdd(name, n =>
    {
        using var s = typeof(HostScript).Assembly.GetManifestResourceStream(ResourcePrefix + n + ".sh")
                      ?? throw new ArgumentException($"there is no host script {n}.sh", nameof(name));
        using var reader = new StreamReader(s, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n");
    });

    /// <summary>The names of every embedded script.</summary>
    public static IReadOnlyList<string> All =>
        typeof(HostScript).Assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix) && r.EndsWith(".sh"))
            .Select(r => r[ResourcePrefix.Length..^3]).Order(StringComparer.Ordinal).ToList();

    /// <summary>Puts the functions of another script (a library: domains, guard, outside...) before this one's text.</summary>
    public HostScript Include(string name)
    {
        _ = Text(name);
        if (!_includes.Contains(name)) _includes.Add(name);
        return this;
    }

    /// <summary>Binds a shell variable to a value, single-quoted (<see cref="ShellQuote"/>).</summary>
    public HostScript Set(string variable, string value)
    {
        if (!Identifier().IsMatch(variable) || variable.StartsWith("VF_"))
            throw new ArgumentException($"'{variable}' is not a script variable name (VF_ names are the protocol's)", nameof(variable));
        _bindings.Add(variable + "=" + ShellQuote.Quote(value));
        return this;
    }

    /// <summary>The script's positional parameters ($1...), each quoted.</summary>
    public HostScript Args(params IEnumerable<string> args)
    {
        var list = args.ToList();
        _args = list.Count == 0 ? "set --" : "set -- " + ShellQuote.Join(list);
        return this;
    }

    /// <summary>A call of one of the script's own functions after its text, every argument quoted.</summary>
    public HostScript Call(string function, params IEnumerable<string> args)
    {
        if (!Identifier().IsMatch(function)) throw new ArgumentException($"'{function}' is not a function name", nameof(function));
        _calls.Add(ShellQuote.Join([function, .. args]));
        return this;
    }

    /// <summary>
    /// The script changes the host: it runs under the exclusive host lock, bounded on the host by <paramref name="bound"/>
    /// (default: the host's command timeout; with <paramref name="orCommandTimeout"/>, whichever is longer).
    /// </summary>
    public HostScript Locked(TimeSpan? bound = null, bool orCommandTimeout = false)
    {
        (Lock, Bound, BoundAtLeastCommandTimeout) = (HostLockMode.Exclusive, bound, orCommandTimeout);
        return this;
    }

    /// <summary>The host's command timeout is the least bound (see <see cref="Locked"/>).</summary>
    public bool BoundAtLeastCommandTimeout { get; private set; }

    /// <summary>The host-side bound of this script on a host.</summary>
    public TimeSpan BoundOn(IRemoteHost host) =>
        Bound is not { } b ? host.CommandTimeout : BoundAtLeastCommandTimeout && host.CommandTimeout > b ? host.CommandTimeout : b;

    /// <summary>A script that changes nothing but may run longer than the host's command timeout: the client waits <paramref name="timeout"/>.</summary>
    public HostScript Unlocked(TimeSpan timeout)
    {
        (Lock, Bound) = (HostLockMode.None, timeout);
        return this;
    }

    /// <summary>The script reads what must not be seen half changed: it takes the host lock shared.</summary>
    public HostScript Shared(TimeSpan? bound = null)
    {
        (Lock, Bound) = (HostLockMode.Shared, bound);
        return this;
    }

    /// <summary>Bytes for the script's standard input.</summary>
    public HostScript Input(byte[] stdin)
    {
        Stdin = stdin;
        return this;
    }

    /// <summary>A typed step of a round trip: this script and how to read its reply.</summary>
    public HostStep<T> Reads<T>(Func<HostReply, T> parse) => new(this, parse);

    /// <summary>Runs this script alone (one round trip) and returns its reply.</summary>
    public async Task<HostReply> RunAsync(IRemoteHost host, CancellationToken ct)
    {
        var batch = new HostBatch();
        var output = batch.Add(Reads(r => r));
        await batch.RunAsync(host, ct);
        return output.Reply;
    }

    /// <summary>The step's text inside a round trip (after the protocol prelude).</summary>
    internal string RenderBody()
    {
        var sb = new StringBuilder();
        if (_args is not null) sb.Append(_args).Append('\n');
        foreach (var b in _bindings) sb.Append(b).Append('\n');
        foreach (var i in _includes) sb.Append(Text(i).TrimEnd('\n')).Append('\n');
        sb.Append(Text(Name).TrimEnd('\n')).Append('\n');
        foreach (var c in _calls) sb.Append(c).Append('\n');
        return sb.ToString();
    }

    /// <summary>The whole text this script runs as when alone (for tests and diagnostics), with a given nonce.</summary>
    public string Render(string nonce) => HostBatch.RenderAll([this], nonce);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}

/// <summary>
/// The markers of one run: <c>@@VF-KIND-NONCE@@</c>, where the nonce is random per run (protocol.sh's <c>$VF_NONCE</c>), so
/// text a script prints on a domain's or a guest's behalf cannot contain one.
/// </summary>
public readonly record struct HostMarkers(string Nonce)
{
    /// <summary>A new random nonce (16 hex digits).</summary>
    public static HostMarkers New() => new(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));

    /// <summary>The marker of a kind (DOMAIN, RESULT, SECTION...).</summary>
    public string this[string kind] => $"@@VF-{kind}-{Nonce}@@";
}

/// <summary>
/// What one step of a round trip answered: its own standard output and error, its exit code, the run's markers, the host.
/// </summary>
public sealed class HostReply
{
    public required Model.HostEntry Host { get; init; }
    public required HostMarkers Markers { get; init; }
    public required int ExitCode { get; init; }
    public required string Stdout { get; init; }
    public required string Stderr { get; init; }

    public bool Succeeded => ExitCode == 0;

    /// <summary>The reply as a <see cref="CommandResult"/>.</summary>
    public CommandResult Result => new(ExitCode, Stdout, Stderr);

    /// <summary>Throws a VfException naming the host and what failed unless the step exited 0.</summary>
    public HostReply EnsureSuccess(string what, string errorId = "RemoteCommandFailed", FailureKind kind = FailureKind.InvalidOperation)
    {
        Result.EnsureSuccess(Host.Name, what, errorId, kind);
        return this;
    }

    /// <summary>The rest of every stdout line that starts with the marker of <paramref name="kind"/> (and a space).</summary>
    public IReadOnlyList<string> Lines(string kind)
    {
        var m = Markers[kind] + " ";
        return Stdout.Split('\n').Where(l => l.StartsWith(m, StringComparison.Ordinal)).Select(l => l[m.Length..]).ToList();
    }

    /// <summary>
    /// The sections of stdout that follow lines <c>MARKER name</c> (a newline before the marker), by name; text before the
    /// first is under "".
    /// </summary>
    public IReadOnlyDictionary<string, string> Sections(string kind = "SECTION") => SplitSections(Stdout, Markers[kind]);

    internal static Dictionary<string, string> SplitSections(string text, string marker)
    {
        var sections = new Dictionary<string, string>();
        var parts = ("\n" + text).Split("\n" + marker + " ");
        sections[""] = parts[0].Length > 0 ? parts[0][1..] : "";
        foreach (var p in parts.Skip(1))
        {
            var nl = p.IndexOf('\n');
            sections[nl < 0 ? p.Trim() : p[..nl].Trim()] = nl < 0 ? "" : p[(nl + 1)..];
        }
        return sections;
    }
}

/// <summary>A typed step: a script and the function that reads its reply.</summary>
public sealed record HostStep<T>(HostScript Script, Func<HostReply, T> Parse)
{
    /// <summary>Runs this step alone, in one round trip.</summary>
    public async Task<T> RunAsync(IRemoteHost host, CancellationToken ct)
    {
        var batch = new HostBatch();
        var output = batch.Add(this);
        await batch.RunAsync(host, ct);
        return output.Value;
    }

    /// <summary>This step with its reply read another way.</summary>
    public HostStep<TOut> Select<TOut>(Func<T, TOut> map) => new(Script, r => map(Parse(r)));
}

/// <summary>
/// The exit codes of the protocol: the host lock's (mapped to errors by <see cref="HostLock.Check"/>) and the scripts' own.
/// </summary>
public static class HostExit
{
    public const int HostLocked = HostLock.LockedExit;
    public const int Overran = HostLock.OverranExit;
    public const int LockUnavailable = HostLock.NotRootExit;
    /// <summary>A tool the script needs is not installed (iptables-restore...).</summary>
    public const int ToolMissing = 69;
    /// <summary>A document changed since it was read (a compare-and-swap lost).</summary>
    public const int Changed = 76;
    /// <summary>A step that did not run: an earlier one it depends on failed.</summary>
    public const int Skipped = 254;
    /// <summary>A step with no reply: the round trip ended before it did.</summary>
    public const int NoReply = -1;
}
