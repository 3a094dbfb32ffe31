using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using VirtFleet.HostScripts;
using VirtFleet.Libvirt;

namespace VirtFleet.Checkpoints;

/// <summary>The changes checkpoint.sh makes.</summary>
public enum CheckpointAction { Create, Restore, Remove }

/// <summary>What a checkpoint change did to one instance (Error null: done).</summary>
public sealed record CheckpointOutcome(string Instance, string Checkpoint, VfException? Error);

/// <summary>
/// The host side of checkpoints (checkpoint.sh): the listing of every domain's checkpoints on a host, and the changes
/// (create, restore, remove) under the host lock, each acting only on the VirtFleet instance the caller read.
/// </summary>
public static partial class CheckpointScripts
{
    /// <summary>A checkpoint name: letters, digits, '-', '_', '.'; 1-63 characters; not starting with '-' or '.'.</summary>
    public static string ValidateName(string? name)
    {
        if (name is null || !NamePattern().IsMatch(name))
            throw new VfException("InvalidCheckpointName", FailureKind.InvalidArgument,
                $"'{name}' is not allowed. Checkpoint names use letters, digits, '-', '_' and '.', 1-63 characters, and do not start with '-' or '.'.", name);
        return name;
    }

    /// <summary>A description: free text up to 1024 characters, no control characters (passed quoted, kept by libvirt as XML text).</summary>
    public static string ValidateDescription(string? text) =>
        text is null ? "" : text.Length > 1024 || text.Any(char.IsControl)
            ? throw new VfException("InvalidCheckpointDescription", FailureKind.InvalidArgument,
                "A checkpoint's description is at most 1024 characters without control characters.", text)
            : text;

    private static HostScript Load() =>
        HostScript.Load("checkpoint").Include("instance-actions").Set("vf_ns", VfMetadata.NamespaceUri);

    /// <summary>Every checkpoint on the host (a read: no lock).</summary>
    public static HostStep<IReadOnlyList<Checkpoint>> ListStep() =>
        Load().Call("vf_cp_list").Reads(r => Parse(r.EnsureSuccess("listing checkpoints", "CheckpointListFailed")));

    /// <summary>One change per instance (instance name, its id as read, the checkpoint), under the host lock.</summary>
    /// <param name="guards">For a restore: the default-deny lines (base64 v4, v6) per instance, for a guest that comes back running.</param>
    public static HostStep<IReadOnlyList<CheckpointOutcome>> ChangeStep(CheckpointAction action,
        IReadOnlyList<(string Instance, string InstanceId, string Checkpoint, string Description)> targets,
        IReadOnlyDictionary<string, string[]>? guards = null)
    {
        var script = Load();
        if (action == CheckpointAction.Restore) script.Include("guard");
        foreach (var t in targets)
        {
            Names.ValidateInstanceName(t.Instance);
            ValidateName(t.Checkpoint);
            IEnumerable<string> args = action switch
            {
                CheckpointAction.Create => ["vf_cp_create", t.Instance, t.InstanceId, t.Checkpoint, ValidateDescription(t.Description)],
                CheckpointAction.Restore => ["vf_cp_restore", t.Instance, t.InstanceId, t.Checkpoint, .. guards?.GetValueOrDefault(t.Instance) ?? []],
                CheckpointAction.Remove => ["vf_cp_delete", t.Instance, t.InstanceId, t.Checkpoint],
                _ => throw new ArgumentOutOfRangeException(nameof(action)),
            };
            var list = args.ToList();
            script.Call(list[0], list.Skip(1));
        }
        // A checkpoint of a running guest saves its memory (under TCG, seconds per 100 MiB): bounded generously.
        script.Call("exit", "0").Locked(TimeSpan.FromSeconds(120 + 120 * targets.Count), orCommandTimeout: true);
        return script.Reads(r => Outcomes(r, action, targets.Select(t => (t.Instance, t.Checkpoint)).ToList()));
    }

    internal static IReadOnlyList<CheckpointOutcome> Outcomes(HostReply r, CheckpointAction action, IReadOnlyList<(string Instance, string Checkpoint)> targets)
    {
        r.EnsureSuccess($"{action} checkpoints", "CheckpointFailed");
        // One result line per call, in call order: each instance's lines are taken in turn.
        var results = r.Lines("RESULT").Select(l => l.Split(' ', 3)).Where(a => a.Length >= 2)
            .GroupBy(a => a[0]).ToDictionary(g => g.Key, g => new Queue<string[]>(g));
        var outcomes = new List<CheckpointOutcome>();
        foreach (var (inst, cp) in targets)
        {
            var a = results.TryGetValue(inst, out var q) && q.Count > 0 ? q.Dequeue() : null;
            var msg = a is { Length: > 2 } ? a[2].Trim() : "no result";
            var host = r.Host.Name;
            outcomes.Add(new CheckpointOutcome(inst, cp, a?[1] switch
            {
                "ok" => null,
                "exists" => new VfException("CheckpointExists", FailureKind.ResourceExists, $"{host}: {msg}", inst),
                "missing" => new VfException("CheckpointNotFound", FailureKind.ObjectNotFound, $"{host}: {msg}", inst),
                "changed" => new VfException("InstanceChanged", FailureKind.InvalidOperation, $"{host}: {msg}", inst),
                "notours" => new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{host}: {msg}", inst),
                _ => new VfException($"{action}CheckpointFailed", FailureKind.InvalidOperation, $"{host}: {action} checkpoint {cp} of {inst} failed: {msg}", inst),
            }));
        }
        return outcomes;
    }

    /// <summary>Reads vf_cp_list's reply.</summary>
    internal static IReadOnlyList<Checkpoint> Parse(HostReply r)
    {
        var list = new List<Checkpoint>();
        var instMarker = r.Markers["INSTANCE"] + " ";
        var sectionMarker = r.Markers["SECTION"] + " ";
        foreach (var block in ("\n" + r.Stdout).Split("\n" + instMarker).Skip(1))
        {
            var nl = block.IndexOf('\n');
            var head = (nl < 0 ? block : block[..nl]).Trim().Split(' ');
            if (head.Length < 2) continue;
            var (name, id) = (head[0], head[1] == "-" ? null : head[1]);
            var body = nl < 0 ? "" : block[(nl + 1)..];
            var sections = ("\n" + body).Split("\n" + sectionMarker).Skip(1).Select(s =>
            {
                var e = s.IndexOf('\n');
                return (Kind: (e < 0 ? s : s[..e]).Trim(), Text: e < 0 ? "" : s[(e + 1)..]);
            }).ToList();
            var (sizes, fileBytes) = DiskInfo(sections.FirstOrDefault(s => s.Kind == "disk").Text);
            var current = sections.FirstOrDefault(s => s.Kind == "current").Text?.Trim();
            foreach (var s in sections.Where(s => s.Kind == "checkpoint"))
            {
                XElement x;
                try { x = XElement.Parse(s.Text.Trim()); }
                catch (System.Xml.XmlException) { continue; }
                var cp = x.Element("name")?.Value;
                if (string.IsNullOrEmpty(cp)) continue;
                var state = x.Element("state")?.Value ?? "";
                list.Add(new Checkpoint
                {
                    Instance = name, InstanceId = id, Host = r.Host.Name, Name = cp, Description = x.Element("description")?.Value,
                    Created = long.TryParse(x.Element("creationTime")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t)
                        ? DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime : null,
                    State = state,
                    Memory = x.Element("memory")?.Attribute("snapshot")?.Value is "internal" or "external" || state is "running" or "paused",
                    MemoryBytes = sizes.GetValueOrDefault(cp), DiskFileBytes = fileBytes, Current = cp == current,
                    Parent = x.Element("parent")?.Element("name")?.Value,
                });
            }
        }
        return list.OrderBy(c => c.Instance, StringComparer.OrdinalIgnoreCase).ThenBy(c => c.Created).ToList();
    }

    /// <summary>qemu-img info's JSON: each internal snapshot's memory state size by name, and the file's allocated size.</summary>
    internal static (Dictionary<string, long> Sizes, long FileBytes) DiskInfo(string? json)
    {
        var sizes = new Dictionary<string, long>();
        if (string.IsNullOrWhiteSpace(json)) return (sizes, 0);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.TryGetProperty("snapshots", out var snaps) && snaps.ValueKind == JsonValueKind.Array)
                foreach (var s in snaps.EnumerateArray())
                    if (s.TryGetProperty("name", out var n) && n.GetString() is { } sn)
                        sizes[sn] = s.TryGetProperty("vm-state-size", out var v) && v.TryGetInt64(out var b) ? b : 0;
            return (sizes, root.TryGetProperty("actual-size", out var a) && a.TryGetInt64(out var ab) ? ab : 0);
        }
        catch (JsonException) { return (sizes, 0); }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}\z")]
    private static partial Regex NamePattern();
}
