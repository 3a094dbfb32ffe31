using System.Security.Cryptography;
using System.Text;
using VirtFleet.CloudInit;
using VirtFleet.Hosts;
using VirtFleet.Images;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Transport;

namespace VirtFleet.Instances;

/// <summary>One instance's outcome on its host.</summary>
public sealed record CreateOutcome(string Name, string Host, Instance? Instance, bool Existed, VfException? Error);

/// <summary>
/// Creates instances on a host in one round trip under the host lock (<see cref="HostLock"/>): per instance a qcow2 overlay on the
/// cached image, the NoCloud seed, define, start (an instance in a security group starts paused, gets its
/// default-deny chains, then runs: filtered from its first packet). An instance whose create fails is removed again (disk,
/// seed, domain); one interrupted by a dropped connection is reaped by the next run on that host.
/// </summary>
public static class InstanceCreator
{
    private const string ResultMarker = "@@VF-RESULT@@";

    /// <summary>The line that separates a script's own output from its trailer's (another layer's read, folded into the same round trip).</summary>
    public const string TrailerMarker = "@@VF-TRAILER@@";

    /// <summary>Shell text that runs <paramref name="trailer"/> after a marker line; empty without one.</summary>
    public static string Trailer(string? trailer) => trailer is null ? "" : "printf '\\n" + TrailerMarker + "\\n'\n(\n" + trailer + "\n)\n";

    /// <summary>Splits a script's output into its own part and its trailer's (null when there is no trailer).</summary>
    public static (string Own, string? Trailer) SplitTrailer(string stdout)
    {
        var i = stdout.IndexOf("\n" + TrailerMarker + "\n", StringComparison.Ordinal);
        return i < 0 ? (stdout, null) : (stdout[..(i + 1)], stdout[(i + TrailerMarker.Length + 2)..]);
    }

    /// <param name="trailer">Shell text run in the same round trip after the survey (e.g. a read of the host's network definitions); its output is <see cref="HostSurvey.Trailer"/>.</param>
    public static async Task<HostSurvey> SurveyAsync(IRemoteHost host, string image, CancellationToken ct, string? trailer = null)
    {
        var script = HostProbe.ScriptText +
                     "\nv=$(virsh -q -c qemu:///system 'capabilities; echo @@VF-NAMES@@; list --all --name')" +
                     "\nprintf '@@VF-CAPS@@\\n%s\\n@@VF-NAMES@@\\n%s\\n' \"${v%%@@VF-NAMES@@*}\" \"${v#*@@VF-NAMES@@}\"" +
                     "\necho '@@VF-IMAGE@@'; cat -- " + ShellQuote.Quote(ImageStore.HostImageDir(image) + "/image.json") + " 2>/dev/null\n" +
                     Trailer(trailer) + "exit 0";
        var r = await host.RunAsync(script, ct);
        var (own, extra) = SplitTrailer(r.Stdout);
        var parts = own.Split(["@@VF-CAPS@@\n", "@@VF-NAMES@@\n", "@@VF-IMAGE@@\n"], StringSplitOptions.None);
        if (parts.Length != 4)
            throw new VfException("HostSurveyFailed", FailureKind.InvalidData, $"{host.Host.Name}: unexpected survey output. {r.Stderr.Trim()}", host.Host.Name);
        return new HostSurvey
        {
            Facts = HostProbe.Parse(host.Host, parts[0]),
            Capabilities = HostCapabilities.Parse(parts[1]),
            DomainNames = parts[2].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Image = parts[3].Trim().Length == 0 ? null : ImageManifest.Parse(parts[3], $"{host.Host.Name}:{image}/image.json"),
            Trailer = extra,
        };
    }

    public static string NewInstanceId() => "i-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    /// <summary>The domain for one new instance on a host: the OS profile's defaults pass over the request.</summary>
    public static Domain BuildDomain(string name, string instanceId, Guid uuid, CreateRequest request, ImageManifest image,
        OsProfileCatalog profiles, HostSurvey survey)
    {
        var dir = HostPaths.Instances + "/" + name;
        var props = image.ToProperties(ImageStore.HostContentDir(image));
        var profile = profiles.Resolve(props.OsFamily, props.OsVariant);
        var req = new InstanceRequest
        {
            Name = name, Uuid = uuid, Vcpus = request.Type.Vcpus, MemoryMiB = request.Type.MemoryMiB,
            Disks = [new DiskRequest(dir + "/root.qcow2")],
            SeedPath = dir + "/seed.iso",
            Nics = request.NetworkBridge is { } bridge ? [NicRequest.Bridge(Names.ValidateBridgeName(bridge))]
                : request.Network is { } net ? [NicRequest.Network(Names.ValidateNetworkName(net))] : [],
            Metadata = new VfMetadata
            {
                InstanceId = instanceId, Image = image.Name, InstanceType = request.Type.Name, KeyPair = request.KeyPair,
                Networks = request.Network is null ? [] : [request.Network], Tags = request.Tags.ToList(),
                SecurityGroups = request.SecurityGroups.ToList(), SpreadGroup = request.SpreadGroup, Owner = request.Owner,
                Created = DateTime.UtcNow, Disks = [dir + "/root.qcow2", dir + "/seed.iso"],
            },
        };
        return DomainBuilder.Build(req, props, profile, survey.Capabilities, survey.Facts.KvmDevice);
    }

    public sealed record Planned(string Name, string InstanceId, Guid Uuid, Domain Domain, byte[] Seed);

    public static Planned Plan(string name, CreateRequest request, ImageManifest image, OsProfileCatalog profiles, HostSurvey survey)
    {
        Names.ValidateInstanceName(name);
        var id = NewInstanceId();
        var uuid = Guid.NewGuid();
        var domain = BuildDomain(name, id, uuid, request, image, profiles, survey);
        var seed = new NoCloudSeed
        {
            InstanceId = id, Hostname = name, SshAuthorizedKeys = request.PublicKeys, UserData = request.UserData,
            Windows = string.Equals(image.OsFamily, "windows", StringComparison.OrdinalIgnoreCase),
        }.ToIso();
        return new Planned(name, id, uuid, domain, seed);
    }

    /// <summary>
    /// Shell function <c>vf_guard NAME V4 V6</c> (needs <c>V</c>): default deny for a paused guest before it runs
    /// (<see cref="Networking.FirewallPlanner.Guard"/>'s lines, base64), used by a create and by a start.
    /// </summary>
    public const string GuardFunction = """
        # Default deny before the first packet: with the guest paused (its taps exist, no instruction has run), its
        # chain and a jump per tap go into VirtFleet's chains, for IPv4 and IPv6, then it may run. Args: name, the
        # guard's iptables lines (base64) and ip6tables lines (base64), with @VF-TAP@ for the tap.
        vf_guard() {
          taps=$(V domiflist "$1" | awk '$1 != "-" && NF > 1 { print $1 }') || return 1
          chain=$(printf '%s' "$2" | base64 -d | sed -n 's/^:\(VF-I-[A-Za-z0-9_-]*\) .*/\1/p' | head -n 1)
          [ -n "$chain" ] || { echo "no chain in the guard"; return 1; }
          for t in $taps; do case "$t" in *[!A-Za-z0-9_.-]*) echo "unexpected interface name $t"; return 1 ;; esac; done
          for fam in ip ip6; do
            if [ "$fam" = ip ]; then lines=$(printf '%s' "$2" | base64 -d); else [ -e /proc/net/if_inet6 ] || continue; lines=$(printf '%s' "$3" | base64 -d); fi
            command -v ${fam}tables-restore >/dev/null 2>&1 || { echo "${fam}tables-restore is not installed"; return 1; }
            live=$(${fam}tables-save -t filter) || { echo "${fam}tables-save failed"; return 1; }
            {
              echo '*filter'
              printf '%s\n' "$live" | grep -q '^:VF-FORWARD ' || echo ':VF-FORWARD - [0:0]'
              # The instance's chain, declared (which empties it) only when it is not there yet: a started
              # instance keeps its groups' rules.
              printf '%s\n' "$live" | grep -q "^:$chain " || printf '%s\n' "$lines" | grep -vF '@VF-TAP@'
              for t in $taps; do printf '%s\n' "$lines" | grep -F '@VF-TAP@' | sed "s/@VF-TAP@/$t/g"; done
              [ "$(printf '%s\n' "$live" | grep -m1 '^-A FORWARD ')" = '-A FORWARD -j VF-FORWARD' ] || echo '-I FORWARD 1 -j VF-FORWARD'
              echo COMMIT
            } | ${fam}tables-restore -w --noflush 2>&1 || { echo "${fam}tables-restore of the default deny failed"; return 1; }
          done
        }
        """;

    // The host-side steps; every value reaches them as a quoted argument.
    private const string Functions = """
        S=STORE
        mkdir -p "$S/instances" || exit 1
        V() { virsh -q -c qemu:///system "$@"; }
        # Under the lock, a .creating marker is a create that died: remove what it made.
        for m in "$S"/instances/*/.creating; do
          [ -e "$m" ] || continue
          d=${m%/.creating}; u=$(cat "$m")
          case "$u" in *[!0-9a-f-]*|'') ;; *) V destroy "$u" >/dev/null 2>&1; V undefine --nvram "$u" >/dev/null 2>&1 || V undefine "$u" >/dev/null 2>&1 ;; esac
          rm -rf -- "$d"
        done
        vf_nl='
        '
        vf_have=$(V list --all --name)
        vf_result() { printf '\n@@VF-RESULT@@ %s %s %s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')"; }
        vf_undo() { V destroy "$2" >/dev/null 2>&1; V undefine --nvram "$2" >/dev/null 2>&1 || V undefine "$2" >/dev/null 2>&1; rm -rf -- "$S/instances/$1"; }
        vf_create() { # name uuid base-disk size xml-base64 seed-gzip-base64 [guard-v4-base64 guard-v6-base64]
          case "$vf_nl$vf_have$vf_nl" in *"$vf_nl$1$vf_nl"*) vf_result "$1" exists ""; return ;; esac
          d="$S/instances/$1"
          if [ -e "$d" ]; then vf_result "$1" failed "$d exists but no domain $1 does; remove it by hand"; return; fi
          # The seed carries user data (which may hold secrets): the instance's files are root's alone (0600), its
          # folder is not listable (0711: a qemu that runs as its own user, with libvirt's dynamic ownership, must still reach them).
          umask 077
          mkdir -p -- "$d" && chmod 0711 -- "$d" && printf '%s\n' "$2" > "$d/.creating" || { vf_result "$1" failed "cannot create $d"; return; }
          err=$(qemu-img create -q -f qcow2 -F qcow2 -b "$3" -- "$d/root.qcow2" "$4" 2>&1) \
            || { vf_undo "$1" "$2"; vf_result "$1" failed "qemu-img create: $err"; return; }
          printf '%s' "$6" | base64 -d | gzip -dc > "$d/seed.iso" && printf '%s' "$5" | base64 -d > "$d/domain.xml" \
            || { vf_undo "$1" "$2"; vf_result "$1" failed "writing seed or domain XML failed"; return; }
          err=$(V define -- "$d/domain.xml" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh define: $err"; return; }
          if [ -n "$7" ]; then
            err=$(V start --paused -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh start: $err"; return; }
            err=$(vf_guard "$1" "$7" "$8" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "its firewall could not be put in place before it ran, so it was not started: $err"; return; }
            err=$(V resume -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh resume: $err"; return; }
          else
            err=$(V start -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh start: $err"; return; }
          fi
          rm -f -- "$d/.creating" "$d/domain.xml"
          vf_result "$1" created ""
        }
        """;

    public static string BuildScript(IReadOnlyList<Planned> planned, ImageManifest image, long diskBytes, string? trailer = null)
    {
        var sb = new StringBuilder(Functions.Replace("STORE", HostPaths.Store)).Append('\n').Append(GuardFunction).Append('\n');
        foreach (var p in planned)
        {
            IEnumerable<string> argv = ["vf_create", p.Name, p.Uuid.ToString(), ImageStore.HostDiskPath(image), diskBytes.ToString(),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Domain.ToXmlString())), Convert.ToBase64String(Gzip(p.Seed))];
            // An instance in a security group is filtered from its first packet (default deny while it is paused).
            if (p.Domain.Metadata is { SecurityGroups.Count: > 0 })
            {
                var (v4, v6) = Networking.FirewallPlanner.Guard(p.Name, p.InstanceId);
                argv = argv.Append(Base64Lines(v4)).Append(Base64Lines(v6));
            }
            sb.Append(ShellQuote.Join(argv)).Append('\n');
        }
        // Read back what is there now (created or already existing), in Get-VfInstance's format.
        sb.Append(InstanceReader.ReadBackScript(planned.Select(p => p.Name))).Append(Trailer(trailer)).Append("exit 0\n");
        return sb.ToString();
    }

    private static string Base64Lines(IEnumerable<string> lines) => Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

    /// <summary>The seed ISO is mostly padding: gzip makes its 300 KB a few KB of script text.</summary>
    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest)) gz.Write(data);
        return buffer.ToArray();
    }

    /// <summary>Creates the planned instances on one host; returns one outcome per instance.</summary>
    /// <param name="trailer">Shell text run in the same round trip after the create (e.g. a read of the host's network state);
    /// <paramref name="onTrailer"/> gets what it printed.</param>
    public static async Task<IReadOnlyList<CreateOutcome>> CreateOnHostAsync(IRemoteHost host, IReadOnlyList<Planned> planned,
        ImageManifest image, InstanceType type, CancellationToken ct, string? trailer = null, Action<string>? onTrailer = null)
    {
        var diskBytes = Math.Max(image.VirtualSize, (long)type.DiskGiB << 30);
        var r = await HostLock.RunAsync(host, BuildScript(planned, image, diskBytes, trailer), ct);
        var (own, extra) = SplitTrailer(r.Stdout);
        r = r with { Stdout = own };
        if (extra is not null) onTrailer?.Invoke(extra);
        r.EnsureSuccess(host.Host.Name, "creating instances", "CreateInstancesFailed");
        var results = r.Stdout.Split('\n').Where(l => l.StartsWith(ResultMarker + " "))
            .Select(l => l[(ResultMarker.Length + 1)..].Split(' ', 3))
            .ToDictionary(a => a[0], a => (Status: a[1], Message: a.Length > 2 ? a[2].Trim() : ""));
        var instances = InstanceReader.Parse(host.Host.Name, r.Stdout[(r.Stdout.IndexOf("@@VF-DOMAIN@@", StringComparison.Ordinal) is var i and >= 0 ? i : r.Stdout.Length)..])
            .ToDictionary(x => x.Name);
        return planned.Select(p =>
        {
            var found = instances.GetValueOrDefault(p.Name);
            if (!results.TryGetValue(p.Name, out var res))
                return new CreateOutcome(p.Name, host.Host.Name, found, false, new VfException("CreateOutcomeUnknown", FailureKind.InvalidOperation,
                    $"{host.Host.Name}: no result for instance {p.Name}; run Get-VfInstance to see its state.", p.Name));
            return res.Status switch
            {
                "created" => new CreateOutcome(p.Name, host.Host.Name, found, false, null),
                "exists" => new CreateOutcome(p.Name, host.Host.Name, found, true, null),
                _ => new CreateOutcome(p.Name, host.Host.Name, null, false, new VfException("CreateInstanceFailed", FailureKind.InvalidOperation,
                    $"{host.Host.Name}: instance {p.Name} was not created and nothing of it was left: {res.Message}", p.Name)),
            };
        }).ToList();
    }
}
