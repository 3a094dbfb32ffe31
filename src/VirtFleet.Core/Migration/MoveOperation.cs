using System.Diagnostics;
using System.Text;
using System.Xml.Linq;
using VirtFleet.Instances;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Operations;
using VirtFleet.Transport;

namespace VirtFleet.Migration;

/// <summary>One move: the instance (name or id; <see cref="Source"/> narrows where it is looked for) and where it goes.</summary>
public sealed record MoveRequest(string Instance, string Destination, string? Source = null, bool Offline = false);

/// <summary>
/// Moves one instance to another host, live (a running instance: libvirt live migration with its disks copied qemu to
/// qemu, authorised for that move only) or offline (a stopped one: its files copied host to host over ssh, defined on
/// the destination, verified). Its id, name, UUID, MACs, address reservations, security-group chains and public
/// addresses follow it. At every step a fault leaves the instance on exactly one host: the source's disks are removed
/// only after the destination is verified, and what the move prepared on the destination is removed again when it
/// fails. PowerShell-free: a cmdlet, the playbook executor or a rebalance runs it with a <see cref="FleetScope"/>.
/// </summary>
public sealed class MoveOperation(FleetScope scope)
{
    private readonly FleetScope _scope = scope;
    private static int _progressIds = 5811;

    /// <summary>Where the instance is: one host's read of it; InstanceNotFound, AmbiguousInstance.</summary>
    public async Task<SourceInstance> LocateAsync(string instance, string? source, CancellationToken ct)
    {
        Names.ValidateInstanceName(instance.StartsWith("i-") ? "x" : instance);
        var hosts = source is null ? _scope.Inventory.Hosts.ToList() : [Host(source)];
        var found = new List<(Model.HostEntry Host, Instance Instance)>();
        await _scope.ForEachHostAsync(hosts, "Finding " + instance, InstanceReader.ReadAsync, ct,
            (h, list) => { lock (found) found.AddRange(list.Where(i => i.Name == instance || i.InstanceId == instance).Select(i => (h, i))); });
        if (found.Count == 0)
            throw new VfException("InstanceNotFound", FailureKind.ObjectNotFound, $"No instance '{instance}' on {(source ?? "the hosts that answered")}.", instance);
        if (found.Count > 1)
            throw new VfException("AmbiguousInstance", FailureKind.InvalidArgument,
                $"Instance '{instance}' is on {string.Join(", ", found.Select(f => f.Host.Name))}; name its host (-Source) to move one.", instance);
        var (host, inst) = found[0];
        return await ReadSourceAsync(_scope.Connect(host), inst.Name, inst.OwnedDisks, ct);
    }

    internal static async Task<SourceInstance> ReadSourceAsync(IRemoteHost host, string name, IReadOnlyList<string> disks, CancellationToken ct)
    {
        var r = await host.RunAsync("set -- " + ShellQuote.Join([name, .. disks]) + "\n" + MigrationScripts.ReadSource, ct);
        if (r.ExitCode == 3) throw new VfException("InstanceNotFound", FailureKind.ObjectNotFound, $"{host.Host.Name}: no instance {name}.", name);
        r.EnsureSuccess(host.Host.Name, $"reading {name}", "ReadInstanceFailed");
        return SourceInstance.Parse(host.Host.Name, r.Stdout);
    }

    private Model.HostEntry Host(string name) => _scope.Inventory.Find(name)
        ?? throw new VfException("HostNotFound", FailureKind.ObjectNotFound, $"No host '{name}' in the inventory {_scope.Inventory.Path}.", name);

    /// <summary>The destination's view for the pre-checks (one round trip).</summary>
    internal static async Task<DestinationView> ReadDestinationAsync(IRemoteHost dst, SourceInstance src, long reservedMiB, CancellationToken ct)
    {
        var backings = src.Disks.Where(d => d.Backing is not null).Select(d => d.Backing!).Distinct().ToList();
        var domain = XElement.Parse(src.Xml);
        var cpu = domain.Element("cpu") is { } c ? c.ToString() : "";
        // The CPU is compared for the hypervisor the domain runs on (its type: kvm, or qemu for TCG), its architecture,
        // machine and emulator: libvirt's default is KVM wherever /dev/kvm exists, whose CPU is not TCG's.
        var os = domain.Element("os")?.Element("type");
        string[] hypervisor = [(string?)domain.Attribute("type") ?? "", (string?)os?.Attribute("arch") ?? "", (string?)os?.Attribute("machine") ?? "",
            domain.Element("devices")?.Element("emulator")?.Value.Trim() ?? ""];
        // The destination's facts and what the checks ask of it: one round trip (probe.sh, migration-destination.sh).
        var batch = new HostScripts.HostBatch();
        var facts = batch.Add(Hosts.HostProbe.ProbeStep());
        var read = batch.Add(HostScripts.HostScript.Load("migration-destination")
            .Args([src.Domain.Name, src.Domain.Uuid?.ToString() ?? "-", .. hypervisor, .. backings]).Input(Encoding.UTF8.GetBytes(cpu))
            .Reads(r => r.EnsureSuccess("reading the destination", "ReadDestinationFailed")));
        await batch.RunAsync(dst, ct);
        var view = DestinationView.Parse(facts.Value, read.Value.Stdout, read.Value.Markers);
        return new DestinationView
        {
            Facts = view.Facts, NameHolder = view.NameHolder, UuidHolder = view.UuidHolder, Backings = view.Backings, CpuCompare = view.CpuCompare,
            ActiveNetworks = view.ActiveNetworks, HasSshHelper = view.HasSshHelper, ReservedMiB = reservedMiB,
        };
    }

    /// <summary>The members of the instance's spread group on a host (read from that host's domains).</summary>
    private async Task<IReadOnlyList<string>> SpreadPeersAsync(IRemoteHost dst, SourceInstance src, CancellationToken ct)
    {
        if (src.Domain.Metadata?.SpreadGroup is not { } group) return [];
        var list = await InstanceReader.ReadAsync(dst, ct);
        return list.Where(i => i.SpreadGroup == group && i.Name != src.Domain.Name).Select(i => i.Name).ToList();
    }

    /// <summary>Test-VfMigration: every pre-check of moving the instance to the destination, nothing changed.</summary>
    public async Task<IReadOnlyList<MigrationCheck>> TestAsync(MoveRequest request, CancellationToken ct, Networking.FleetNetworkState? fleet = null)
    {
        Host(request.Destination);
        var src = await LocateAsync(request.Instance, request.Source, ct);
        return await CheckAsync(src, request, fleet, ct);
    }

    private async Task<IReadOnlyList<MigrationCheck>> CheckAsync(SourceInstance src, MoveRequest request, Networking.FleetNetworkState? fleet, CancellationToken ct)
    {
        var dstEntry = Host(request.Destination);
        var dst = _scope.Connect(dstEntry);
        var view = await ReadDestinationAsync(dst, src, 0, ct);
        if (fleet is null)
        {
            try { fleet = Networking.FleetNetworkState.From([(await Networking.NetworkStore.ReadAsync(_scope.Connect(Host(src.Host)), ct))]); }
            catch (VfException e) { _scope.Report.Warning($"{src.Host}: networking definitions not read ({e.Message})"); }
        }
        var mode = Mode(src, request);
        var checks = MigrationChecks.Evaluate(src, view, mode, fleet, await SpreadPeersAsync(dst, src, ct), dstEntry.Maintenance).ToList();
        // Checkpoints live in the overlay and in libvirt's snapshot metadata on the source: a live copy of the disk carries
        // neither (libvirt refuses it), an offline copy the data without the metadata. Refused until they are removed.
        var cps = (await Checkpoints.CheckpointScripts.ListStep().RunAsync(_scope.Connect(Host(src.Host)), ct)).Count(c => c.Instance == src.Domain.Name);
        checks.Add(new MigrationCheck(src.Domain.Name, src.Host, request.Destination, "Checkpoints",
            cps == 0 ? MigrationCheckStatus.Passed : MigrationCheckStatus.Failed,
            cps == 0 ? "none" : $"{cps} checkpoint(s) would not move with the instance; remove them first (Get-VfCheckpoint -Instance {src.Domain.Name} | Remove-VfCheckpoint)"));
        // The hosts copy to each other over SSH by their inventory addresses, which a local host (Add-VfHost -Local) has not.
        var local = new[] { Host(src.Host), dstEntry }.Where(h => h.Local).Select(h => h.Name).ToList();
        checks.Add(new MigrationCheck(src.Domain.Name, src.Host, request.Destination, "Addresses",
            local.Count == 0 ? MigrationCheckStatus.Passed : MigrationCheckStatus.Failed,
            local.Count == 0 ? "both hosts have SSH addresses"
                : $"{string.Join(", ", local)} is the local machine (Add-VfHost -Local) with no address the other host can reach; add it by address to move instances"));
        return checks;
    }

    private static MigrationMode Mode(SourceInstance src, MoveRequest request) =>
        request.Offline || src.State == "shut off" ? MigrationMode.Offline : MigrationMode.Live;

    /// <summary>
    /// Moves the instance. Null when ShouldProcess declined (-WhatIf: the plan was shown). Throws MigrationPrecheckFailed
    /// (nothing moved), MigrationFailed (the instance still runs on its source; nothing left on the destination),
    /// InstanceOnTwoHosts or MigrationUnverified (nothing removed anywhere; the message says where it runs).
    /// </summary>
    public async Task<MigrationResult?> MoveAsync(MoveRequest request, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        Host(request.Destination);
        var src = await LocateAsync(request.Instance, request.Source, ct);
        var name = src.Domain.Name;
        var id = Interlocked.Increment(ref _progressIds);
        var mode = Mode(src, request);
        var activity = $"Moving {name} from {src.Host} to {request.Destination} ({mode.ToString().ToLowerInvariant()})";
        void Step(string status, int percent) { _scope.Report.Progress(new OperationProgress(id, activity, status, percent)); _scope.Report.Verbose($"{name}: {status}"); }
        try
        {
            Step("reading networking definitions", 2);
            var net = await MoveNetworking.ReadAsync(_scope, ct);
            Step("pre-checks", 5);
            var checks = await CheckAsync(src, request, net.Fleet, ct);
            foreach (var w in checks.Where(c => c.Status == MigrationCheckStatus.Warning)) _scope.Report.Warning($"{name}: {w.Check}: {w.Detail}");
            var failed = checks.Where(c => c.Status == MigrationCheckStatus.Failed).ToList();
            if (failed.Count > 0)
                throw new VfException("MigrationPrecheckFailed", FailureKind.InvalidOperation,
                    $"{name} was not moved to {request.Destination}: {string.Join("; ", failed.Select(c => $"{c.Check}: {c.Detail}"))}.", name);
            var copy = src.Disks.Where(d => !d.ReadOnly).ToList();
            var plan = mode == MigrationMode.Live
                ? $"Move live to {request.Destination}: copy memory and {copy.Count} disk(s) ({Size(copy.Sum(d => d.ActualSize))}) qemu to qemu, then its address reservation, security-group chains and public address follow; the source's disks are removed once it runs there"
                : $"Move offline to {request.Destination}: copy {src.Disks.Count} file(s) ({Size(src.Disks.Sum(d => d.ActualSize))}) host to host, define it there, verify, then remove it from {src.Host}";
            if (!_scope.Report.ShouldProcess($"{name} on {src.Host}", plan)) return null;

            var srcHost = _scope.Connect(Host(src.Host));
            var dstEntry = Host(request.Destination);
            var dstHost = _scope.Connect(dstEntry);
            var warnings = new List<string>();
            var (after, libvirt) = mode == MigrationMode.Live
                ? await LiveAsync(src, srcHost, dstHost, dstEntry, net, warnings, Step, ct)
                : (await OfflineAsync(src, srcHost, dstHost, dstEntry, net, warnings, Step, ct), "virsh");
            Step("done", 100);
            return new MigrationResult
            {
                Instance = name, InstanceId = src.InstanceId, Source = src.Host, Destination = request.Destination, Mode = mode,
                Duration = clock.Elapsed, InstanceAfter = after, Warnings = warnings, Libvirt = libvirt,
            };
        }
        finally
        {
            _scope.Report.Progress(new OperationProgress(id, activity, "done", 100, Completed: true));
        }
    }

    private static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB" : $"{bytes / (double)(1L << 20):0.0} MiB";

    private static string Tag(SourceInstance src) => "virtfleet-migration-" + src.Domain.Uuid!.Value.ToString("N")[..12] + "-" + Environment.TickCount64.ToString("x");

    /// <summary>The arguments that prepare the destination: an empty overlay per copied disk, the read-only files written.</summary>
    private static async Task<List<string>> PrepareArgsAsync(SourceInstance src, IRemoteHost srcHost, bool live, CancellationToken ct)
    {
        var args = new List<string> { src.Domain.Name, src.Domain.Uuid!.Value.ToString(), src.Folder };
        if (!live) return args;
        foreach (var d in src.Disks)
        {
            if (!d.ReadOnly)
            {
                args.AddRange(["disk", d.Path, d.Backing ?? "", d.BackingFormat ?? "qcow2", d.VirtualSize.ToString()]);
                continue;
            }
            var r = await srcHost.RunAsync("gzip -c -- " + ShellQuote.Quote(d.Path) + " | base64 -w0", ct);
            r.EnsureSuccess(srcHost.Host.Name, $"reading {d.Path}", "ReadDiskFailed");
            args.AddRange(["file", d.Path, r.Stdout.Trim()]);
        }
        return args;
    }

    /// <summary>Known-hosts text for the destination from the host keys its sshd presented to us (read over our verified connection).</summary>
    private static string KnownHosts(Model.HostEntry dst, string keys)
    {
        var name = dst.Port == 22 ? dst.Address : $"[{dst.Address}]:{dst.Port}";
        var lines = keys.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ')).Where(p => p.Length >= 2 && p[0].StartsWith("ssh-") || p.Length >= 2 && p[0].StartsWith("ecdsa-"))
            .Select(p => $"{name} {p[0]} {p[1]}").ToList();
        if (lines.Count == 0)
            throw new VfException("MigrationAuthorizationFailed", FailureKind.SecurityError, $"{dst.Name}: its sshd's host keys could not be read; nothing was moved.", dst.Name);
        return string.Join('\n', lines);
    }

    private async Task<string> AuthorizeAsync(IRemoteHost srcHost, IRemoteHost dstHost, Model.HostEntry dstEntry, SourceInstance src, string tag, string work, bool live, CancellationToken ct)
    {
        var key = await srcHost.RunAsync("set -- " + ShellQuote.Quote(work) + "\n" + MigrationScripts.MakeKey, ct);
        key.EnsureSuccess(srcHost.Host.Name, "making the move's key", "MigrationAuthorizationFailed", FailureKind.SecurityError);
        var pub = key.Stdout.Trim();
        var script = live
            ? "set -- " + ShellQuote.Join(dstEntry.User, tag, pub, dstEntry.Sudo ? "1" : "0") + "\n" + MigrationScripts.Authorize
            : "set -- " + ShellQuote.Join(dstEntry.User, tag, pub, src.Folder, dstEntry.Sudo ? "1" : "0") + "\n" + MigrationScripts.AuthorizeCopy;
        var r = await HostLock.RunAsync(dstHost, script, ct);
        r.EnsureSuccess(dstHost.Host.Name, "authorizing the move", "MigrationAuthorizationFailed", FailureKind.SecurityError);
        var at = r.Stdout.IndexOf("@@VF-HOSTKEYS@@", StringComparison.Ordinal);
        return KnownHosts(dstEntry, at < 0 ? "" : r.Stdout[(at + "@@VF-HOSTKEYS@@".Length)..]);
    }

    private async Task RevokeAsync(IRemoteHost srcHost, IRemoteHost dstHost, Model.HostEntry dstEntry, string tag, string work, List<string> warnings)
    {
        // Never cancelled: the authorization always goes, however the move ended.
        try
        {
            var r = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join(dstEntry.User, tag) + "\n" + MigrationScripts.Revoke, CancellationToken.None);
            r.EnsureSuccess(dstHost.Host.Name, "revoking the move's key", "MigrationRevokeFailed", FailureKind.SecurityError);
        }
        catch (VfException e)
        {
            var w = $"{dstHost.Host.Name}: the move's key (tagged {tag}) could not be taken out of the authorized keys: {e.Message}; remove that line by hand";
            warnings.Add(w);
            _scope.Report.Warning(w);
        }
        try { await srcHost.RunAsync("rm -rf -- " + ShellQuote.Quote(work), CancellationToken.None); } catch (VfException) { }
    }

    private sealed record Here(string State, string? Uuid, string? InstanceId, bool Persistent)
    {
        public bool Down => State == "down";
        public bool None => State == "none";
        public bool Runs => State is "running" or "paused";
    }

    private static async Task<Here> WhereAsync(IRemoteHost host, string name, CancellationToken ct)
    {
        var r = await host.RunAsync("set -- " + ShellQuote.Quote(name) + "\n" + MigrationScripts.Where.Replace("URI", ShellQuote.Quote(VfMetadata.NamespaceUri)), ct);
        var line = r.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("@@VF-HERE@@ "));
        if (line is null) r.EnsureSuccess(host.Host.Name, $"finding {name}", "ReadInstanceFailed");
        var p = line!["@@VF-HERE@@ ".Length..].Trim().Split(' ');
        return p.Length >= 4 ? new Here(p[0].Replace('_', ' '), p[1], p[2] == "-" ? null : p[2], p[3] == "yes") : new Here(p[0], null, null, false);
    }

    /// <summary>The live domain XML for the destination: each NIC's tap named in advance (<see cref="MoveNetworking.TapName"/>).</summary>
    internal static (string Xml, DomainInfo Domain) DestinationXml(SourceInstance src, string liveXml)
    {
        string Rewrite(string text)
        {
            var doc = XElement.Parse(text);
            var i = 0;
            foreach (var nic in doc.Element("devices")?.Elements("interface") ?? [])
            {
                var type = nic.Attribute("type")?.Value;
                if (type is not ("network" or "bridge")) { i++; continue; }
                var target = nic.Element("target");
                if (target is null) nic.Add(target = new XElement("target"));
                target.SetAttributeValue("dev", MoveNetworking.TapName(src.InstanceId, i++));
            }
            return doc.ToString();
        }
        return (Rewrite(src.MigratableXml), DomainInfo.Parse(Rewrite(liveXml)));
    }

    /// <summary>The live move; returns the instance as read on its new host and the path that moved it (native or virsh).</summary>
    private async Task<(Instance? After, string Libvirt)> LiveAsync(SourceInstance src, IRemoteHost srcHost, IRemoteHost dstHost, Model.HostEntry dstEntry,
        MoveNetworking net, List<string> warnings, Action<string, int> step, CancellationToken ct)
    {
        var name = src.Domain.Name;
        var uuid = src.Domain.Uuid!.Value.ToString();
        var chain = Networking.FirewallPlanner.InstanceChain(src.InstanceId);
        var (xml, arriving) = DestinationXml(src, src.Xml);
        var tag = Tag(src);
        var work = MigrationScripts.WorkRoot + "/" + tag;
        var prepared = false;
        var libvirt = "virsh";
        var revoke = false;
        var groups = src.Domain.Metadata?.SecurityGroups.Count > 0;
        var after = net.After(name, src.InstanceId, src.Host, dstHost.Host.Name, out var netsChanged, out var addrChanged);
        var networked = groups || netsChanged || addrChanged;
        try
        {
            step("preparing the destination", 10);
            var prep = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join(await PrepareArgsAsync(src, srcHost, live: true, ct)) + "\n" + MigrationScripts.PrepareDestination, ct);
            if (prep.ExitCode == 3)
                throw new VfException("MigrationPrecheckFailed", FailureKind.ResourceExists, $"{dstHost.Host.Name}: {prep.Stderr.Trim()}; nothing was moved.", name);
            prepared = true;
            prep.EnsureSuccess(dstHost.Host.Name, "preparing the destination", "MigrationFailed");
            // The instance is filtered on the destination from its first packet there, and served there at once: its chains
            // and the jumps for the taps it will get, its reservation and its public address's nat rules are in place before
            // it arrives; only the address itself waits for the switch-over.
            if (networked && net.Live.TryGetValue(dstHost.Host.Name, out var dstLive0))
            {
                step("networking on the destination", 15);
                await net.PreApplyAsync(_scope, dstHost, after, MoveNetworking.WithDomain(dstLive0, arriving), ct);
            }
            var copying = $"copying memory and {src.Disks.Count(d => !d.ReadOnly)} disk(s) to {dstHost.Host.Name}";
            var bound = TimeSpan.FromMinutes(30) > srcHost.CommandTimeout ? TimeSpan.FromMinutes(30) : srcHost.CommandTimeout;
            if (await NativePairAsync(srcHost, dstHost, ct) is var (srcNative, dstNative))
            {
                // This process drives the move over both hosts' native connections (virDomainMigrate3): the source needs no
                // key to the destination. The source's lock is held around it, as around the script below.
                step(copying + " (native libvirt)", 20);
                libvirt = "native";
                await using (await HostLock.HoldAsync(srcHost, bound, ct))
                    await srcNative.MigrateLiveAsync(name, dstNative, xml, MigrateUri(dstEntry.Address), bound, ct);
            }
            else
            {
                step("authorizing the move on the destination", 18);
                var knownHosts = await AuthorizeAsync(srcHost, dstHost, dstEntry, src, tag, work, live: true, ct);
                revoke = true;
                step(copying, 20);
                var r = await HostLock.RunAsync(srcHost, "set -- " + ShellQuote.Join(work, name, dstEntry.Address, dstEntry.Port.ToString(), dstEntry.User, knownHosts,
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(xml)), MigrateUri(dstEntry.Address)) + "\n" + MigrationScripts.MigrateLive, ct, bound: bound);
                if (!r.Succeeded)
                    throw new VfException("MigrationFailed", FailureKind.InvalidOperation, $"{srcHost.Host.Name}: virsh migrate failed: {r.Stderr.Trim()}", name);
            }
        }
        catch (Exception e) when (e is VfException or OperationCanceledException or TimeoutException)
        {
            if (revoke) await RevokeAsync(srcHost, dstHost, dstEntry, tag, work, warnings);
            if (!prepared) throw;
            // Where is it now? A move whose reply was lost may have finished.
            var (s, d) = await WhereBothAsync(srcHost, dstHost, name);
            if (!(d?.Runs == true && d.Uuid == uuid && s is { Runs: false }))
            {
                var now = await FaultAsync(src, srcHost, dstHost, s, d, chain, warnings, networked ? net.ReservationFiles(src.Domain) : null, networked ? net : null);
                throw new VfException(e is VfException { ErrorId: "MigrationPrecheckFailed" } v ? v.ErrorId : "MigrationFailed", FailureKind.InvalidOperation,
                    $"{name} was not moved: {e.Message}. {now}", name, e);
            }
            _scope.Report.Warning($"{name}: the move reported a fault ({e.Message}) but the instance runs on {dstHost.Host.Name} and not on {src.Host}: finishing it");
            revoke = false;
        }

        // The guest runs on the destination now: its public address and gateways there first (the address's traffic waits
        // for it), then the authorization goes, then the verification before anything is removed from the source.
        if (networked && net.SwitchArgs(src.Domain, src.Host, dstHost.Host.Name, after) is { Count: > 0 } switchArgs)
        {
            step("switching the public address and gateways", 75);
            try
            {
                var sw = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join(switchArgs) + "\n" + MigrationScripts.Announce, ct);
                if (sw.Stderr.Trim().Length > 0) Warn(warnings, $"{dstHost.Host.Name}: {sw.Stderr.Trim()}");
            }
            catch (VfException e) { Warn(warnings, $"{dstHost.Host.Name}: the public address of {name} was not switched ({e.Message}); run Repair-VfNetwork -Host {dstHost.Host.Name}"); }
        }
        if (revoke) await RevokeAsync(srcHost, dstHost, dstEntry, tag, work, warnings);

        step("verifying the destination", 80);
        var (srcNow, dstNow) = await WhereBothAsync(srcHost, dstHost, name);
        if (dstNow is not { Runs: true } || dstNow.Uuid != uuid || dstNow.InstanceId != src.InstanceId || srcNow is { Runs: true })
            throw new VfException("MigrationUnverified", FailureKind.InvalidOperation,
                $"{name}: after the move the destination {dstHost.Host.Name} shows '{dstNow?.State ?? "unreachable"}' (uuid {dstNow?.Uuid}, id {dstNow?.InstanceId}) and the source {src.Host} '{srcNow?.State ?? "unreachable"}'; nothing was removed on either host. Check with Get-VfInstance {name}.", name);
        if (!dstNow.Persistent) warnings.Add($"{name} runs on {dstHost.Host.Name} but is not defined persistently there");

        if (networked)
        {
            step("networking documents and the source", 85);
            await net.SaveAsync(_scope, after, netsChanged, addrChanged, ct);
            foreach (var h in new[] { srcHost, dstHost })
            {
                try { await net.ApplyAsync(_scope, h, after, null, force: false, ct); }
                catch (VfException e) { Warn(warnings, $"{h.Host.Name}: networking not brought in line after moving {name} ({e.Message}); run Repair-VfNetwork -Host {h.Host.Name}"); }
            }
        }

        step($"removing {name}'s disks from {src.Host}", 92);
        await FinishAsync(src, srcHost, dstHost);
        return ((await InstanceReader.ReadAsync(dstHost, ct)).FirstOrDefault(i => i.Name == name), libvirt);
    }

    /// <summary>
    /// Both hosts' native libvirt connections when both are set to the native path (Set-VfHost -LibvirtPath Native or
    /// $env:VF_LIBVIRT=native) and it is up for both; else null, and the source's virsh moves the instance. In auto the
    /// virsh move stays: its faults (a destination lost mid-move, a killed libvirtd) are the ones the lab tests prove.
    /// </summary>
    private static async Task<(NativeBackend Source, NativeBackend Destination)?> NativePairAsync(IRemoteHost srcHost, IRemoteHost dstHost, CancellationToken ct)
    {
        var env = Environment.GetEnvironmentVariable(LibvirtChoice.Variable);
        if (LibvirtChoice.PreferenceFor(srcHost.Host, env) != LibvirtPreference.Native || LibvirtChoice.PreferenceFor(dstHost.Host, env) != LibvirtPreference.Native)
            return null;
        try
        {
            if (await srcHost.OpenLibvirtAsync(ct) is NativeBackend s && await dstHost.OpenLibvirtAsync(ct) is NativeBackend d) return (s, d);
        }
        catch (VfException) { /* not up: the virsh move */ }
        return null;
    }

    /// <summary>Where qemu sends memory and disks, on either path: the destination's address (an IPv6 one in brackets).</summary>
    internal static string MigrateUri(string address) => address.Contains(':') ? $"tcp://[{address}]" : $"tcp://{address}";

    private void Warn(List<string> warnings, string text) { warnings.Add(text); _scope.Report.Warning(text); }

    private async Task FinishAsync(SourceInstance src, IRemoteHost srcHost, IRemoteHost dstHost)
    {
        var uuid = src.Domain.Uuid!.Value.ToString();
        var r = await HostLock.RunAsync(srcHost, "set -- " + ShellQuote.Join([src.Domain.Name, uuid, src.Folder, .. src.Domain.Metadata!.Disks]) + "\n" + MigrationScripts.FinishSource, CancellationToken.None);
        r.EnsureSuccess(srcHost.Host.Name, $"removing {src.Domain.Name}'s disks after the move", "MigrationCleanupFailed");
        var f = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join(src.Folder, uuid) + "\n" + MigrationScripts.FinishDestination, CancellationToken.None);
        f.EnsureSuccess(dstHost.Host.Name, "ending the move", "MigrationCleanupFailed");
    }

    private static async Task<(Here? Source, Here? Destination)> WhereBothAsync(IRemoteHost srcHost, IRemoteHost dstHost, string name)
    {
        async Task<Here?> Try(IRemoteHost h) { try { return await WhereAsync(h, name, CancellationToken.None); } catch (VfException) { return null; } }
        var s = Try(srcHost);
        var d = Try(dstHost);
        return (await s, await d);
    }

    /// <summary>
    /// After a fault: the instance stays where it runs. A paused source (the move stopped at the switch-over) is
    /// resumed; the destination's preparation is undone unless the instance runs there; both running is reported, never
    /// touched. Then both hosts are read again: an instance that ran before the move and now runs nowhere (its source's
    /// qemu went down with the move) is started on its source, where it is still defined and its disks are whole. Returns
    /// what is true afterwards, for the error's message: where the instance runs and whether the destination is clean.
    /// </summary>
    private async Task<string> FaultAsync(SourceInstance src, IRemoteHost srcHost, IRemoteHost dstHost, Here? s, Here? d, string chain, List<string> warnings,
        IReadOnlyList<string>? reservationFiles = null, MoveNetworking? net = null)
    {
        var name = src.Domain.Name;
        var uuid = src.Domain.Uuid!.Value.ToString();
        var dst = dstHost.Host.Name;
        if (s?.Runs == true && d?.Runs == true && d.Uuid == uuid)
            throw new VfException("InstanceOnTwoHosts", FailureKind.InvalidOperation,
                $"{name} runs on both {src.Host} and {dst} after a failed move; nothing was changed on either. Stop the copy that should not run (Stop-VfInstance -Host ...).", name);
        if (s?.State == "paused" && src.State == "running")
        {
            try { await srcHost.RunAsync("virsh -q -c qemu:///system resume -- " + ShellQuote.Quote(name), CancellationToken.None); }
            catch (VfException e) { Warn(warnings, $"{src.Host}: {name} is paused after the failed move and could not be resumed: {e.Message}"); }
        }
        // The source's copy is the instance when it is still defined there (running or not): then an incoming qemu the
        // move left on a destination whose libvirtd does not answer is stopped too.
        var sourceHolds = s is { Down: false } && s.Uuid == uuid;
        var clean = false;
        try
        {
            var r = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join([name, uuid, src.Folder, chain, sourceHolds ? "1" : "0", .. reservationFiles ?? []]) + "\n" +
                MigrationScripts.UndoDestination, CancellationToken.None);
            if (r.ExitCode == 3) Warn(warnings, $"{dst}: {r.Stderr.Trim()}");
            else r.EnsureSuccess(dst, "undoing the move's preparation", "MigrationCleanupFailed");
            clean = r.ExitCode == 0;
            foreach (var l in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) _scope.Report.Verbose($"{dst}: {l}");
        }
        catch (VfException e)
        {
            Warn(warnings, $"{dst}: the move's preparation could not be undone ({e.Message}); the next move to that host removes it");
        }
        // The destination's networking back to the fleet's documents (empty chains and jumps the preparation made go too).
        if (net is not null && d is { Down: false })
        {
            try { await net.ApplyAsync(_scope, dstHost, net.Fleet, null, force: false, CancellationToken.None); }
            catch (VfException e) { Warn(warnings, $"{dst}: networking not brought back after the failed move ({e.Message}); run Repair-VfNetwork -Host {dst}"); }
        }

        // Where is it now? Never assumed: read again.
        var (s2, d2) = await WhereBothAsync(srcHost, dstHost, name);
        var restarted = false;
        if (src.Running && s2 is { Runs: false, Down: false } && s2.Uuid == uuid && d2 is not { Runs: true } && (d2 is { None: true } || clean))
        {
            _scope.Report.Warning($"{name} stopped on {src.Host} during the failed move ({s2.State}); starting it there again");
            try
            {
                var started = await InstanceLifecycle.RunAsync(_scope.With(new ApprovedReporter(_scope.Report)),
                    new InstanceActionRequest { Action = InstanceAction.Start, Names = [name], SearchHosts = [Host(src.Host)] }, CancellationToken.None);
                restarted = started.Done.Any();
            }
            catch (VfException e) { Warn(warnings, $"{src.Host}: {name} could not be started again after the failed move: {e.Message}"); }
            (s2, d2) = await WhereBothAsync(srcHost, dstHost, name);
        }
        var where = s2 switch
        {
            { Runs: true } when d2 is { Runs: true } && d2.Uuid == uuid => $"It runs on both {src.Host} and {dst}: stop the copy that should not run",
            { Runs: true } => restarted
                ? $"It runs on {src.Host}: it had stopped there during the failed move and was started again"
                : $"It still runs on {src.Host}",
            null or { Down: true } => $"{src.Host} does not answer now, so where it runs is not known" + (d2 is { Runs: true } ? $" (it runs on {dst})" : ""),
            _ when d2 is { Runs: true } && d2.Uuid == uuid => $"It runs on {dst} and not on {src.Host} ({s2.State})",
            { None: true } => $"It is no longer defined on {src.Host}",
            _ when src.Running => $"It does not run on {src.Host} ({s2.State}) and could not be started there again: Start-VfInstance {name}",
            _ => $"It stays on {src.Host} ({s2.State})",
        };
        return where + (clean ? $"; nothing of the move is left on {dst}." : $"; what the move prepared on {dst} was not all removed (see the warnings).");
    }

    private async Task<Instance?> OfflineAsync(SourceInstance src, IRemoteHost srcHost, IRemoteHost dstHost, Model.HostEntry dstEntry,
        MoveNetworking net, List<string> warnings, Action<string, int> step, CancellationToken ct)
    {
        var name = src.Domain.Name;
        var uuid = src.Domain.Uuid!.Value.ToString();
        var chain = Networking.FirewallPlanner.InstanceChain(src.InstanceId);
        var tag = Tag(src);
        var work = MigrationScripts.WorkRoot + "/" + tag;
        var prepared = false;
        try
        {
            step("preparing the destination", 10);
            var prep = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join(await PrepareArgsAsync(src, srcHost, live: false, ct)) + "\n" + MigrationScripts.PrepareDestination, ct);
            if (prep.ExitCode == 3)
                throw new VfException("MigrationPrecheckFailed", FailureKind.ResourceExists, $"{dstHost.Host.Name}: {prep.Stderr.Trim()}; nothing was moved.", name);
            prepared = true;
            prep.EnsureSuccess(dstHost.Host.Name, "preparing the destination", "MigrationFailed");
            step("authorizing the copy on the destination", 15);
            var knownHosts = await AuthorizeAsync(srcHost, dstHost, dstEntry, src, tag, work, live: false, ct);
            var files = src.Disks.Select(d => d.Path[(src.Folder.Length + 1)..]).ToList();
            string sums;
            try
            {
                step($"copying {files.Count} file(s) ({Size(src.Disks.Sum(d => d.ActualSize))}) to {dstHost.Host.Name}", 20);
                var bound = TimeSpan.FromHours(2) > srcHost.CommandTimeout ? TimeSpan.FromHours(2) : srcHost.CommandTimeout;
                var r = await HostLock.RunAsync(srcHost, "set -- " + ShellQuote.Join([work, src.Folder, dstEntry.Address, dstEntry.Port.ToString(), dstEntry.User, knownHosts, .. files]) + "\n" +
                    MigrationScripts.CopyOffline, ct, bound: bound);
                r.EnsureSuccess(srcHost.Host.Name, "copying the instance's files", "MigrationFailed");
                sums = r.Stdout;
            }
            finally
            {
                await RevokeAsync(srcHost, dstHost, dstEntry, tag, work, warnings);
            }
            step("verifying the copy and defining it on the destination", 70);
            var pairs = sums.Split('\n').Where(l => l.StartsWith("@@VF-SUM@@ ")).Select(l => l["@@VF-SUM@@ ".Length..].Trim().Split(' ')).SelectMany(p => p).ToList();
            if (pairs.Count != files.Count * 2) throw new VfException("MigrationFailed", FailureKind.InvalidData, $"{srcHost.Host.Name}: the copy reported no checksums", name);
            // The source must still be stopped and the same instance: it is not started meanwhile (the host lock is not held across the copy).
            var again = await WhereAsync(srcHost, name, ct);
            if (again.Runs || again.Uuid != uuid) throw new VfException("MigrationFailed", FailureKind.InvalidOperation, $"{src.Host}: {name} changed during the copy ({again.State}); the move was abandoned", name);
            var def = await HostLock.RunAsync(dstHost, "set -- " + ShellQuote.Join([name, uuid, src.Folder, Convert.ToBase64String(Encoding.UTF8.GetBytes(src.MigratableXml)), .. pairs]) + "\n" +
                MigrationScripts.DefineOffline, ct);
            def.EnsureSuccess(dstHost.Host.Name, "defining the instance", "MigrationFailed");
            var d = await WhereAsync(dstHost, name, ct);
            if (d.Uuid != uuid || d.InstanceId != src.InstanceId || !d.Persistent)
                throw new VfException("MigrationFailed", FailureKind.InvalidOperation, $"{dstHost.Host.Name}: the defined copy does not verify (uuid {d.Uuid}, id {d.InstanceId})", name);
        }
        catch (Exception e) when (e is VfException or OperationCanceledException or TimeoutException)
        {
            if (!prepared) throw;
            var (s, d) = await WhereBothAsync(srcHost, dstHost, name);
            var now = await FaultAsync(src, srcHost, dstHost, s, d, chain, warnings);
            throw new VfException("MigrationFailed", FailureKind.InvalidOperation, $"{name} was not moved: {e.Message}. {now}", name, e);
        }

        step("networking follows the instance", 85);
        var after = net.After(name, src.InstanceId, src.Host, dstHost.Host.Name, out var netsChanged, out var addrChanged);
        await net.SaveAsync(_scope, after, netsChanged, addrChanged, ct);
        async Task Apply(IRemoteHost h)
        {
            try { await net.ApplyAsync(_scope, h, after, null, force: false, ct); }
            catch (VfException e) { Warn(warnings, $"{h.Host.Name}: networking not applied after moving {name} ({e.Message}); run Repair-VfNetwork -Host {h.Host.Name}"); }
        }
        await Apply(dstHost);
        step($"removing {name} from {src.Host}", 92);
        await FinishAsync(src, srcHost, dstHost);
        // The source lets go of the instance's chain, reservation and address rules once its definition is gone there (the
        // reconciler keeps a chain for an instance defined on the host, and a stopped instance is still defined until now).
        await Apply(srcHost);
        return (await InstanceReader.ReadAsync(dstHost, ct)).FirstOrDefault(i => i.Name == name);
    }
}
