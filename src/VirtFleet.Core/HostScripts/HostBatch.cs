using System.Text;
using VirtFleet.Transport;

namespace VirtFleet.HostScripts;

/// <summary>
/// Several typed steps in one round trip to one host. Each step runs in a subshell of its own (its <c>exit</c>, <c>set -f</c>
/// and functions stay there), with its own standard input (none unless it has one), and ends with a marker line, carrying
/// the run's nonce, on stdout and stderr with its exit code, so each step's output, error text and exit code come back
/// apart and each is read by its own parser. When any step changes state, the whole round trip runs under the host lock
/// (exclusive; shared when the steps only ask for that), bounded by the longest bound of its steps.
/// </summary>
/// <example>
/// <code>
/// var batch = new HostBatch();
/// var outcomes = batch.Add(InstanceActions.Step(InstanceAction.Remove, targets, 60, false));
/// var network = batch.Add(HostNetworkState.ReadStep());
/// await batch.RunAsync(host, ct);
/// // outcomes.Value: the removal's typed outcomes; network.Value: the host's network state after it
/// </code>
/// </example>
public sealed class HostBatch
{
    private readonly List<Entry> _steps = [];

    private sealed record Entry(HostScript Script, bool AfterSuccess, Action<HostReply> Deliver);

    public int Count => _steps.Count;

    /// <summary>Adds a step; its typed output is there once <see cref="RunAsync"/> returns.</summary>
    /// <param name="onlyAfterSuccess">Run the step only when every earlier step exited 0 (else its exit code is <see cref="HostExit.Skipped"/>).</param>
    public HostOutput<T> Add<T>(HostStep<T> step, bool onlyAfterSuccess = false)
    {
        var output = new HostOutput<T>(step.Script.Name, step.Parse);
        _steps.Add(new Entry(step.Script, onlyAfterSuccess, output.Deliver));
        return output;
    }

    /// <summary>The lock the round trip takes: the strongest of its steps'.</summary>
    public HostLockMode Lock => _steps.Count == 0 ? HostLockMode.None : _steps.Max(s => s.Script.Lock);

    /// <summary>Runs every step in one round trip; throws HostLocked, HostScriptOverran or HostLockUnavailable for the lock's own exits.</summary>
    public async Task RunAsync(IRemoteHost host, CancellationToken ct)
    {
        if (_steps.Count == 0) return;
        var markers = HostMarkers.New();
        var text = Render(markers.Nonce);
        using var span = Util.VfTrace.Time($"{host.Host.Name} round trip [{string.Join(",", _steps.Select(s => s.Script.Name))}] lock={Lock} {text.Length} B");
        CommandResult r;
        if (Lock == HostLockMode.None)
        {
            var bounds = _steps.Select(s => s.Script.Bound).OfType<TimeSpan>().ToList();
            r = await host.RunAsync(text, ct, timeout: bounds.Count == 0 ? null : bounds.Max());
        }
        else
        {
            var bound = _steps.Select(s => s.Script.BoundOn(host)).Max();
            r = await HostLock.RunAsync(host, text, ct, bound: bound, shared: Lock == HostLockMode.Shared);
        }
        Deliver(host.Host, markers, r);
    }

    /// <summary>Splits a round trip's output into its steps' replies and hands each to its step.</summary>
    internal void Deliver(Model.HostEntry host, HostMarkers markers, CommandResult r)
    {
        var outs = Split(r.Stdout, markers);
        var errs = Split(r.Stderr, markers);
        for (var i = 0; i < _steps.Count; i++)
        {
            var reply = outs.TryGetValue(i, out var o)
                ? new HostReply { Host = host, Markers = markers, ExitCode = o.Code, Stdout = o.Text, Stderr = errs.TryGetValue(i, out var e) ? e.Text : "" }
                : new HostReply
                {
                    Host = host, Markers = markers, ExitCode = HostExit.NoReply, Stdout = "",
                    Stderr = $"the round trip ended (exit {r.ExitCode}) before step {_steps[i].Script.Name} answered. {Tail(r.Stderr)}".TrimEnd(),
                };
            _steps[i].Deliver(reply);
        }
    }

    private static string Tail(string stderr) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    /// <summary>Each step's text (up to its end marker) and exit code, by index.</summary>
    private static Dictionary<int, (string Text, int Code)> Split(string text, HostMarkers markers)
    {
        var result = new Dictionary<int, (string, int)>();
        var marker = "\n" + markers["STEP"] + " ";
        var start = 0;
        while (true)
        {
            var at = text.IndexOf(marker, start, StringComparison.Ordinal);
            if (at < 0) break;
            var eol = text.IndexOf('\n', at + marker.Length);
            if (eol < 0) eol = text.Length;
            var head = text[(at + marker.Length)..eol].Split(' ');
            if (head.Length == 2 && int.TryParse(head[0], out var index) && int.TryParse(head[1], out var code))
                result[index] = (text[start..at], code);
            start = Math.Min(eol + 1, text.Length);
        }
        return result;
    }

    /// <summary>The round trip's text with a given nonce.</summary>
    internal string Render(string nonce) => RenderAll(_steps.Select(s => s.Script).ToList(), nonce, _steps.Select(s => s.AfterSuccess).ToList());

    internal static string RenderAll(IReadOnlyList<HostScript> steps, string nonce, IReadOnlyList<bool>? afterSuccess = null)
    {
        var sb = new StringBuilder();
        sb.Append("VF_NONCE=").Append(ShellQuote.Quote(nonce)).Append('\n')
          .Append("VF_URI=").Append(ShellQuote.Quote(HostScript.LibvirtUri)).Append('\n')
          .Append("VF_STORE=").Append(ShellQuote.Quote(HostPaths.Store)).Append('\n')
          .Append(HostScript.Text(HostScript.ProtocolName).TrimEnd('\n')).Append('\n');
        var anyGuarded = afterSuccess?.Any(g => g) == true;
        if (anyGuarded) sb.Append("vf_failed=0\n");
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            var guarded = afterSuccess is not null && afterSuccess[i];
            if (guarded) sb.Append("if [ \"$vf_failed\" = 0 ]; then\n");
            // Standard input: the step's own bytes (printf is a builtin: no argument size limit), else none.
            if (s.Stdin is { } input)
                sb.Append("printf '%s' ").Append(ShellQuote.Quote(Convert.ToBase64String(input))).Append(" | base64 -d | (\n");
            else sb.Append("(\n");
            sb.Append(s.RenderBody());
            sb.Append(s.Stdin is null ? ") </dev/null\n" : ")\n");
            sb.Append("vf_rc=$?\n");
            if (guarded) sb.Append("else vf_rc=").Append(HostExit.Skipped).Append("\nfi\n");
            if (anyGuarded) sb.Append("[ \"$vf_rc\" = 0 ] || vf_failed=1\n");
            sb.Append("vf_step ").Append(i).Append(" \"$vf_rc\"\n");
        }
        sb.Append("exit 0\n");
        return sb.ToString();
    }
}

/// <summary>The typed output of one step of a <see cref="HostBatch"/>, read (once) when first asked for.</summary>
public sealed class HostOutput<T>
{
    private readonly string _name;
    private readonly Func<HostReply, T> _parse;
    private HostReply? _reply;
    private Lazy<T>? _value;

    internal HostOutput(string name, Func<HostReply, T> parse) => (_name, _parse) = (name, parse);

    internal void Deliver(HostReply reply)
    {
        _reply = reply;
        _value = new Lazy<T>(() => _parse(reply), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The step's raw reply.</summary>
    public HostReply Reply => _reply ?? throw new InvalidOperationException($"step {_name} has not run");

    /// <summary>The step's typed output (its parser's exception when it could not be read).</summary>
    public T Value => (_value ?? throw new InvalidOperationException($"step {_name} has not run")).Value;
}
