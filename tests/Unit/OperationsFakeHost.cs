using System.Text;
using System.Text.RegularExpressions;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Operations;
using VirtFleet.Transport;

namespace VirtFleet.Tests;

/// <summary>
/// A minimal scripted host for the operations' unit tests: a table of domains, answering the listing step and the
/// lifecycle step (vf_act lines) of a round trip as a host would; every script it ran is kept. Other steps go to
/// <see cref="Other"/> (default: exit 0, no output). A host marked <see cref="Down"/> fails to connect. Answers are written
/// with the protocol's fixed marker names (@@VF-DOMAIN@@...) and get the run's nonce here; each step's answer ends with the
/// step marker HostBatch reads. (<see cref="FakeHost"/> runs the real scripts instead.)
/// </summary>
public sealed class OperationsFakeHost(string name) : IRemoteHost
{
    public sealed class Domain
    {
        public required string Name { get; init; }
        public string Uuid { get; init; } = Guid.NewGuid().ToString();
        /// <summary>VirtFleet's instance id; null: a domain VirtFleet did not create.</summary>
        public string? InstanceId { get; init; }
        public string State { get; set; } = "running";
        public string? Image { get; init; }
        public string[] Tags { get; set; } = [];
        public string[] Groups { get; set; } = [];
        public string? Mac { get; init; }
        /// <summary>The owner record's identity (a playbook's create writes it); null: none.</summary>
        public string? Owner { get; init; }
        public string? Type { get; init; }
    }

    public HostEntry Host { get; } = new() { Name = name, Address = "198.51.100." + (10 + name.Last() - '0') };
    public List<Domain> Domains { get; } = [];
    public List<string> Scripts { get; } = [];
    public bool Down { get; set; }
    /// <summary>MAC → address, as dnsmasq's status files hold them.</summary>
    public Dictionary<string, string> Leases { get; } = [];
    public Func<string, CommandResult> Other { get; set; } = _ => new CommandResult(0, "", "");

    /// <summary>The images in the host's store (what a playbook's read lists).</summary>
    public List<string> Images { get; } = [];

    public Domain Add(string domain, string? id = "auto", string state = "running", string? image = "vflinux", string[]? tags = null,
        string[]? groups = null, string? mac = null, string? owner = null, string? type = null)
    {
        var d = new Domain
        {
            Name = domain, InstanceId = id == "auto" ? "i-" + Convert.ToHexString(Guid.NewGuid().ToByteArray())[..8].ToLowerInvariant() : id,
            State = state, Image = image, Tags = tags ?? [], Groups = groups ?? [], Mac = mac, Owner = owner, Type = type,
        };
        Domains.Add(d);
        return d;
    }

    public Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        if (Down) throw new VfException("ConnectionFailed", FailureKind.ConnectionError, $"{Host.Name}: connection refused", Host.Name);
        lock (Scripts) Scripts.Add(script);
        var markers = new HostScripts.HostMarkers(Regex.Match(script, @"(?m)^VF_NONCE=(\w+)$").Groups[1].Value);
        var steps = StepEnd.Split(script);
        if (steps.Length == 1 && script.Contains("\nvf_update ")) return Task.FromResult(Update(script));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        for (var i = 0; i < steps.Length - 1; i++)
        {
            var r = Step(steps[i]);
            stdout.Append(Regex.Replace(r.Stdout, "@@VF-([A-Z]+)@@", m => markers[m.Groups[1].Value])).Append($"\n{markers["STEP"]} {i} {r.ExitCode}\n");
            stderr.Append(r.Stderr).Append($"\n{markers["STEP"]} {i} {r.ExitCode}\n");
        }
        return Task.FromResult(new CommandResult(0, stdout.ToString(), stderr.ToString()));
    }

    private static readonly Regex StepEnd = new(@"(?m)^vf_step \d+ ""\$vf_rc""$");

    private CommandResult Step(string step)
    {
        if (RemoveMatchingLine.Match(step) is { Success: true } rm) return RemoveMatching(rm.Groups[1].Value);
        if (ActionLine.IsMatch(step)) return Act(step);
        if (step.Contains("%s images\\n")) return new CommandResult(0, FleetState(), "");
        if (step.Contains("vf_domains || exit 1") && step.Contains("leases\"\nvf_leases"))
            return new CommandResult(0, Print(Domains) + "@@VF-DOMAIN@@ leases\n" + LeaseJson(), "");
        if (step.Contains("@@VF-SECTION-$VF_NONCE@@") && step.Contains("vf_ip6_lines")) return new CommandResult(0, TrailerOutput, "");
        return Other(step);
    }

    public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) => Task.CompletedTask;

    /// <summary>An action's call, alone or side by side with the others (vf_beside).</summary>
    private static readonly Regex ActionLine = new(@"^(?:vf_beside )?vf_act (\w+) (\S+) (\S+) ([01])", RegexOptions.Multiline);

    private CommandResult Act(string script)
    {
        var output = new StringBuilder();
        var touched = new List<string>();
        foreach (Match m in ActionLine.Matches(script))
        {
            var n = Unquote(m.Groups[2].Value);
            var id = Unquote(m.Groups[3].Value);
            var d = Domains.FirstOrDefault(x => x.Name == n);
            touched.Add(n);
            if (d is null) { output.Append($"\n@@VF-RESULT@@ {n} failed no domain {n} on this host\n"); continue; }
            if ((d.InstanceId ?? "") != id) { output.Append($"\n@@VF-RESULT@@ {n} changed the domain named {n} is another\n"); continue; }
            if (d.InstanceId is null && m.Groups[4].Value != "1") { output.Append($"\n@@VF-RESULT@@ {n} notours {n} was not created by VirtFleet; it is left alone\n"); continue; }
            switch (m.Groups[1].Value)
            {
                case "start": case "resume": case "restart": d.State = "running"; break;
                case "stop": d.State = "shut off"; break;
                case "shutdown": if (d.State != "shut off") d.State = "in shutdown"; break;
                case "suspend": d.State = "paused"; break;
                case "remove": Domains.Remove(d); break;
            }
            output.Append($"\n@@VF-RESULT@@ {n} ok \n");
        }
        if (!ActionLine.Matches(script).Any(m => m.Groups[1].Value == "remove")) output.Append(Print(Domains.Where(d => touched.Contains(d.Name))));
        return new CommandResult(0, output.ToString(), "");
    }

    private static readonly Regex RemoveMatchingLine = new(@"^vf_remove_matching (.*)$", RegexOptions.Multiline);

    /// <summary>
    /// A removal by name patterns (vf_remove_matching FORCE IDS PATTERN...): every domain whose name (or, IDS=1, instance id)
    /// matches is removed, one not VirtFleet's only with FORCE; results, then the removed domains as they were.
    /// </summary>
    private CommandResult RemoveMatching(string args)
    {
        var words = Regex.Matches(args, Word).Select(m => Unquote(m.Value)).ToList();
        var (force, ids, patterns) = (words[0] == "1", words[1] == "1", words.Skip(2).ToList());
        bool Matches(string? value) => value is not null && patterns.Any(p => Wildcard.IsMatch(value, p));
        var found = Domains.Where(d => Matches(d.Name) || (ids && Matches(d.InstanceId))).ToList();
        var output = new StringBuilder();
        foreach (var d in found)
        {
            if (d.InstanceId is null && !force) { output.Append($"\n@@VF-RESULT@@ {d.Name} notours {d.Name} was not created by VirtFleet; it is left alone\n"); continue; }
            Domains.Remove(d);
            output.Append($"\n@@VF-RESULT@@ {d.Name} ok \n");
        }
        return new CommandResult(0, output + Print(found), "");
    }

    /// <summary>What fleet-state.sh prints (a playbook's read): images, networks, groups, documents (none), domains and leases.</summary>
    private string FleetState() =>
        "\n@@VF-SECTION@@ images\n" + string.Concat(Images.Select(i => i + "\n")) + "\n@@VF-SECTION@@ networks\n\n@@VF-SECTION@@ groups\n" +
        "\n@@VF-SECTION@@ docs\n\n@@VF-SECTION@@ domains\n" + Print(Domains) + "@@VF-DOMAIN@@ leases\n" + LeaseJson();

    private const string Word = @"('(?:[^']|'\\'')*'|[^\s']+)";
    private static readonly Regex UpdateLine = new($"^vf_update {Word} {Word} {Word}", RegexOptions.Multiline);

    /// <summary>InstanceUpdater's script (metadata only): each named domain takes the tags and groups of its new metadata.</summary>
    private CommandResult Update(string script)
    {
        var output = new StringBuilder();
        foreach (Match m in UpdateLine.Matches(script))
        {
            var (n, id) = (Unquote(m.Groups[1].Value), Unquote(m.Groups[2].Value));
            var d = Domains.FirstOrDefault(x => x.Name == n);
            if (d is null || d.InstanceId != id) { output.Append($"\n@@VF-RESULT@@ {n} failed no such instance\n"); continue; }
            var xml = System.Xml.Linq.XElement.Parse(Unquote(m.Groups[3].Value));
            d.Tags = xml.Descendants("tag").Select(t => t.Value).ToArray();
            d.Groups = xml.Descendants("group").Select(t => t.Value).ToArray();
            output.Append($"\n@@VF-RESULT@@ {d.Name} ok 0\n");
        }
        return new CommandResult(0, output.ToString(), "");
    }

    /// <summary>What a read of the host's network state (network-state.sh, in the same round trip) prints, with fixed marker names.</summary>
    public string TrailerOutput { get; set; } = "";

    private static string Unquote(string word) => word.StartsWith('\'') ? word[1..^1].Replace(@"'\''", "'") : word;

    private string LeaseJson() => "[" + string.Join(",", Leases.Select(l => $"{{\"ip-address\":\"{l.Value}\",\"mac-address\":\"{l.Key}\",\"expiry-time\":1}}")) + "]\n";

    public static string Print(IEnumerable<Domain> domains) => string.Concat(domains.Select(d => $"@@VF-DOMAIN@@ {d.Uuid}\n{d.State}\n{Xml(d)}\n"));

    private static string Xml(Domain d)
    {
        var meta = d.InstanceId is null ? "" :
            $"<metadata><vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'><vf:id>{d.InstanceId}</vf:id>" +
            (d.Image is null ? "" : $"<vf:image>{d.Image}</vf:image>") +
            "<vf:os family='linux'/>" + (d.Type is null ? "" : $"<vf:type>{d.Type}</vf:type>") +
            (d.Owner is null ? "" : $"<vf:owner playbook='{d.Owner}' id='{d.Owner}'/>") +
            (d.Groups.Length == 0 ? "" : "<vf:securityGroups>" + string.Concat(d.Groups.Select(g => $"<vf:group>{g}</vf:group>")) + "</vf:securityGroups>") +
            (d.Tags.Length == 0 ? "" : "<vf:tags>" + string.Concat(d.Tags.Select(t => $"<vf:tag>{t}</vf:tag>")) + "</vf:tags>") +
            "</vf:instance></metadata>";
        var nic = d.Mac is null ? "" : $"<devices><interface type='network'><mac address='{d.Mac}'/><source network='default'/></interface></devices>";
        return $"<domain type='qemu'><name>{d.Name}</name><uuid>{d.Uuid}</uuid>{meta}<memory unit='KiB'>65536</memory><vcpu>1</vcpu>{nic}</domain>";
    }
}

/// <summary>A fleet of <see cref="OperationsFakeHost"/>s in a temporary inventory, and a scope over them that records what it is told.</summary>
public sealed class OperationsFakeFleet : IDisposable
{
    public Dictionary<string, OperationsFakeHost> Hosts { get; } = [];
    public HostInventory Inventory { get; }
    public RecordingReporter Report { get; }
    public FleetScope Scope { get; }
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"vf-ops-{Guid.NewGuid():N}.yml");

    public OperationsFakeFleet(int hosts = 2, Func<string, string, bool>? shouldProcess = null)
    {
        Report = new RecordingReporter(shouldProcess);
        Inventory = HostInventory.Load(_path);
        for (var i = 1; i <= hosts; i++)
        {
            var h = new OperationsFakeHost($"h{i}");
            Hosts[h.Host.Name] = h;
            Inventory.Hosts.Add(h.Host);
        }
        Scope = new FleetScope(Inventory, e => Hosts[e.Name], Report);
    }

    public OperationsFakeHost this[string host] => Hosts[host];

    public void Dispose() => File.Delete(_path);
}
