using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Operations;
using VirtFleet.Transport;

namespace VirtFleet.Tests;

/// <summary>
/// A host as the networking operations see it, answering their scripts from memory: the three fleet documents (written
/// only when the version a write names is the one held, as the real write script does), the domains, addresses and
/// links its state read reports, and every state-changing script it was sent (firewall applies, network teardowns).
/// </summary>
internal sealed class FakeNetworkHost(string name, string address) : IRemoteHost
{
    public HostEntry Host { get; } = new() { Name = name, Address = address };
    /// <summary>The documents by file name (networks.json, addresses.json, groups.json).</summary>
    public Dictionary<string, string> Files { get; } = [];
    /// <summary>(uuid, state, domain XML) of each domain.</summary>
    public List<(string Uuid, string State, string Xml)> Domains { get; } = [];
    /// <summary>Lines of `ip -o -4 addr show`.</summary>
    public List<string> AddressLines { get; } = [$"2: eth0    inet {address}/24 brd 198.51.100.255 scope global eth0"];
    /// <summary>"interface bridge" lines of the links section.</summary>
    public List<string> Links { get; } = ["lo ", "eth0 "];
    public List<string> Applied { get; } = [];
    public List<string> TornDown { get; } = [];
    public bool Down { get; set; }
    /// <summary>Document writes fail with this exit code (and stderr) instead of being made.</summary>
    public (int Exit, string Stderr)? FailWrites { get; set; }
    /// <summary>Runs just before a state read answers (a test changes the host between reads).</summary>
    public Action? BeforeRead { get; set; }
    public int Reads { get; private set; }

    static readonly Regex WritePath = new(@"\nfile=(/\S+)\n", RegexOptions.Compiled);
    static readonly Regex Expected = new(@"\nexpected=([0-9a-f]{64}|none)\n", RegexOptions.Compiled);
    static readonly Regex Input = new(@"printf '%s' '?([A-Za-z0-9+/=]*)'? \| base64 -d \| \(", RegexOptions.Compiled);
    static readonly Regex StepEnd = new(@"(?m)^vf_step \d+ ""\$vf_rc""$", RegexOptions.Compiled);

    public static string Version(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Answers each step of a round trip (HostBatch) with fixed marker names, given the run's nonce here.</summary>
    public Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        ct.ThrowIfCancellationRequested();
        if (Down) throw new VfException("ConnectionFailed", FailureKind.ConnectionError, $"{Host.Name}: connection refused", Host.Name);
        var markers = new VirtFleet.HostScripts.HostMarkers(Regex.Match(script, @"(?m)^VF_NONCE=(\w+)$").Groups[1].Value);
        var steps = StepEnd.Split(script);
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

    CommandResult Step(string script)
    {
        lock (this)
        {
            if (script.Contains("M=\"@@VF-SECTION-$VF_NONCE@@\"\nvf_docs\n")) { Reads++; BeforeRead?.Invoke(); return new(0, Docs() + State(), ""); }
            if (script.Contains("\nvf_docs\nexit 0")) return new(0, Docs(), "");
            if (WritePath.Match(script) is { Success: true } w && script.Contains("cat > \"$file.tmp\""))
            {
                if (FailWrites is { } fail) return new CommandResult(fail.Exit, "", fail.Stderr);
                var file = w.Groups[1].Value[(NetworkStore.Folder.Length + 1)..];
                var expected = Expected.Match(script).Groups[1].Value;
                var held = Files.TryGetValue(file, out var t) ? Version(t) : "none";
                if (held != expected) return new CommandResult(76, "", "changed since it was read\n");
                Files[file] = Encoding.UTF8.GetString(Convert.FromBase64String(Input.Match(script).Groups[1].Value));
                return new(0, "", "");
            }
            if (script.Contains("vf_changed")) { Applied.Add(script); return new(0, "\n@@VF-CHANGED@@ applied\n", ""); }
            if (script.Contains("net-undefine")) { TornDown.Add(script); return new(0, "", ""); }
            if (script.Contains("\nfam=")) return new(0, "", ""); // the filter chains after a repair
        }
        throw new InvalidOperationException($"{Host.Name}: unexpected script:\n{script}");
    }

    static Task<CommandResult> Ok(string stdout) => Task.FromResult(new CommandResult(0, stdout, ""));

    string Docs()
    {
        var sb = new StringBuilder();
        foreach (var f in new[] { NetworkStore.NetworksFile, NetworkStore.AddressesFile, NetworkStore.GroupsFile })
            sb.Append($"\n@@VF-DOC@@ {f}\n").Append(Files.TryGetValue(f, out var t) ? Version(t) + "\n" + t : "none\n");
        return sb.ToString();
    }

    string State() =>
        "\n@@VF-SECTION@@ domains\n" + string.Concat(Domains.Select(d => $"@@VF-DOMAIN@@ {d.Uuid}\n{d.State}\n{d.Xml}\n")) +
        "\n@@VF-SECTION@@ networks\n" +
        "\n@@VF-SECTION@@ links\n" + string.Join("\n", Links) + "\n" +
        "\n@@VF-SECTION@@ vxlan\n" +
        "\n@@VF-SECTION@@ outside\neth0\n" +
        "\n@@VF-SECTION@@ addresses\n" + string.Join("\n", AddressLines) + "\n" +
        "\n@@VF-SECTION@@ dhcp\n\n@@VF-SECTION@@ leases\n\n@@VF-SECTION@@ filter\n@@VF-BRIDGE-NF@@ 1\n\n@@VF-SECTION@@ nat\n";

    public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) => throw new NotSupportedException();

    /// <summary>A VirtFleet instance's domain: one NIC on <paramref name="network"/>, in <paramref name="groups"/>.</summary>
    public void AddInstance(string instance, string id, string mac, string network, params string[] groups)
    {
        var uuid = Guid.NewGuid().ToString();
        Domains.Add((uuid, "running", $"""
            <domain type='qemu' id='3'><name>{instance}</name><uuid>{uuid}</uuid>
              <metadata><vf:instance xmlns:vf='https://virtfleet.dev/xmlns/instance/1'><vf:id>{id}</vf:id>
                <vf:networks><vf:network>{network}</vf:network></vf:networks>
                {(groups.Length == 0 ? "" : "<vf:securityGroups>" + string.Concat(groups.Select(g => $"<vf:group>{g}</vf:group>")) + "</vf:securityGroups>")}
              </vf:instance></metadata>
              <memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
              <devices><interface type='network'><mac address='{mac}'/><source network='{network}'/><target dev='vnet{Domains.Count}'/><model type='virtio'/></interface></devices>
            </domain>
            """));
    }
}

/// <summary>A fleet of fake hosts h1..hN (198.51.100.11, .12, …) with an inventory, a recording reporter and a scope over them.</summary>
internal sealed class FakeNetworkFleet
{
    public HostInventory Inventory { get; } = new();
    public Dictionary<string, FakeNetworkHost> Hosts { get; } = [];
    public RecordingReporter Report { get; }
    public FleetScope Scope { get; }
    public FleetNetworking Networking => new(Scope);
    public List<FleetNetworkState> Seen { get; } = [];

    public FakeNetworkFleet(int hosts = 2, Func<string, string, bool>? shouldProcess = null)
    {
        for (var i = 1; i <= hosts; i++)
        {
            var h = new FakeNetworkHost($"h{i}", $"198.51.100.{10 + i}");
            Hosts[h.Host.Name] = h;
            Inventory.Hosts.Add(h.Host);
        }
        Report = new RecordingReporter(shouldProcess);
        Scope = new FleetScope(Inventory, h => Hosts[h.Name], Report, perHostBound: TimeSpan.FromSeconds(30))
        {
            Seen = o => { if (o is FleetNetworkState f) lock (Seen) Seen.Add(f); },
        };
    }

    public FakeNetworkHost this[string name] => Hosts[name];

    /// <summary>The fleet's documents as every host would read them now.</summary>
    public FleetNetworkState Read() => FleetNetworkState.From(Hosts.Values.Select(h =>
    {
        string V(string f) => h.Files.TryGetValue(f, out var t) ? FakeNetworkHost.Version(t) : "none";
        string T(string f) => h.Files.GetValueOrDefault(f, "");
        return new NetworkStore.HostDocs(h.Host.Name, new(h.Host.Name, V(NetworkStore.NetworksFile), T(NetworkStore.NetworksFile)),
            new(h.Host.Name, V(NetworkStore.AddressesFile), T(NetworkStore.AddressesFile)), new(h.Host.Name, V(NetworkStore.GroupsFile), T(NetworkStore.GroupsFile)));
    }).ToList());

    /// <summary>Puts the same document on every host.</summary>
    public void Put(string file, string text)
    {
        foreach (var h in Hosts.Values) h.Files[file] = text;
    }

    public IReadOnlyList<string> FailureIds => Report.Failures.Select(f => f.ErrorId).ToList();
}
