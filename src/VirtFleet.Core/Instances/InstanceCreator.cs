using System.Security.Cryptography;
using System.Text;
using VirtFleet.CloudInit;
using VirtFleet.HostScripts;
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
    /// <summary>
    /// What a host looks like before placing (survey.sh after probe.sh): its facts, capabilities, domain names and its
    /// manifest of <paramref name="image"/>. A typed step: the fleet's networking documents can be read in the same trip
    /// (<see cref="HostBatch"/> with <see cref="Networking.NetworkStore.ReadStep"/>).
    /// </summary>
    public static HostStep<HostSurvey> SurveyStep(string image) =>
        HostScript.Load("survey").Include("outside").Include("probe").Set("vf_survey", "1").Set("image_json", ImageStore.HostImageDir(image) + "/image.json")
            .Reads(r =>
            {
                var m = r.Markers;
                var parts = r.Stdout.Split(["\n" + m["CAPS"] + "\n", "\n" + m["NAMES"] + "\n", "\n" + m["IMAGE"] + "\n"], StringSplitOptions.None);
                if (parts.Length != 4)
                    throw new VfException("HostSurveyFailed", FailureKind.InvalidData, $"{r.Host.Name}: unexpected survey output. {r.Stderr.Trim()}", r.Host.Name);
                return new HostSurvey
                {
                    Facts = HostProbe.Parse(r.Host, parts[0]),
                    Capabilities = HostCapabilities.Parse(parts[1].Trim()),
                    DomainNames = parts[2].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    Image = parts[3].Trim().Length == 0 ? null : ImageManifest.Parse(parts[3], $"{r.Host.Name}:{image}/image.json"),
                };
            });

    public static Task<HostSurvey> SurveyAsync(IRemoteHost host, string image, CancellationToken ct) => SurveyStep(image).RunAsync(host, ct);

    /// <summary>The serial console's log in an instance's folder (Get-VfConsoleOutput reads it; removed with the instance).</summary>
    public const string ConsoleLogFile = "console.log";

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
            ConsoleLog = dir + "/" + ConsoleLogFile,
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

    /// <summary>A Windows image: its instances get a config drive for cloudbase-init and the password first-boot script.</summary>
    public static bool IsWindows(ImageManifest image) => string.Equals(image.OsFamily, "windows", StringComparison.OrdinalIgnoreCase);

    public sealed record Planned(string Name, string InstanceId, Guid Uuid, Domain Domain, byte[] Seed);

    public static Planned Plan(string name, CreateRequest request, ImageManifest image, OsProfileCatalog profiles, HostSurvey survey)
    {
        Names.ValidateInstanceName(name);
        var id = NewInstanceId();
        var uuid = Guid.NewGuid();
        var domain = BuildDomain(name, id, uuid, request, image, profiles, survey);
        var seed = IsWindows(image)
            ? new ConfigDriveSeed
            {
                InstanceId = id, Hostname = name, UserData = request.UserData,
                FirstBootScript = request.PublicKeys is [var key] ? Windows.FirstBootScript.For(key) : null,
            }.ToIso()
            : new NoCloudSeed { InstanceId = id, Hostname = name, SshAuthorizedKeys = request.PublicKeys, UserData = request.UserData }.ToIso();
        return new Planned(name, id, uuid, domain, seed);
    }

    /// <summary>
    /// The create (instance-create.sh, under the host lock): one <c>vf_create</c> per instance, every value a quoted argument
    /// (side by side through <c>vf_beside</c>, up to 4 at once, when there are several and none needs a firewall guard), then what is there now
    /// (created or already existing) read back in Get-VfInstance's format.
    /// </summary>
    public static HostScript BuildScript(IReadOnlyList<Planned> planned, ImageManifest image, long diskBytes)
    {
        var script = HostScript.Load("instance-create").Include("guard").Include("domains");
        // Several instances without a firewall guard are made side by side (a start mostly waits on qemu and libvirtd).
        var beside = planned.Count > 1 && !planned.Any(Guarded);
        if (beside) script.Include("beside");
        foreach (var p in planned)
        {
            Names.ValidateInstanceName(p.Name);
            IEnumerable<string> argv = [p.Name, p.Uuid.ToString(), ImageStore.HostDiskPath(image), diskBytes.ToString(),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Domain.ToXmlString())), Convert.ToBase64String(Gzip(p.Seed))];
            if (Guarded(p))
            {
                var (v4, v6) = Networking.FirewallPlanner.Guard(p.Name, p.InstanceId);
                argv = argv.Append(Base64Lines(v4)).Append(Base64Lines(v6));
            }
            script.Call(beside ? "vf_beside" : "vf_create", beside ? argv.Prepend("vf_create_beside") : argv);
        }
        if (beside) script.Call("vf_join");
        if (planned.Count > 0) script.Call("vf_readback");
        return script.Call("exit", "0").Locked();
    }

    /// <summary>An instance in a security group is filtered from its first packet (default deny while it is paused).</summary>
    private static bool Guarded(Planned p) => p.Domain.Metadata is { SecurityGroups.Count: > 0 };

    private static string Base64Lines(IEnumerable<string> lines) => Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

    /// <summary>The seed ISO is mostly padding: gzip makes its 300 KB a few KB of script text.</summary>
    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest)) gz.Write(data);
        return buffer.ToArray();
    }

    /// <summary>The create of the planned instances on one host as a typed step: one outcome per instance.</summary>
    public static HostStep<IReadOnlyList<CreateOutcome>> CreateStep(IReadOnlyList<Planned> planned, ImageManifest image, InstanceType type)
    {
        var diskBytes = Math.Max(image.VirtualSize, (long)type.DiskGiB << 30);
        return BuildScript(planned, image, diskBytes).Reads(r => Outcomes(r, planned));
    }

    /// <summary>Creates the planned instances on one host (one round trip under the host lock); returns one outcome per instance.</summary>
    public static Task<IReadOnlyList<CreateOutcome>> CreateOnHostAsync(IRemoteHost host, IReadOnlyList<Planned> planned,
        ImageManifest image, InstanceType type, CancellationToken ct) =>
        CreateStep(planned, image, type).RunAsync(host, ct);

    private static IReadOnlyList<CreateOutcome> Outcomes(HostReply r, IReadOnlyList<Planned> planned)
    {
        var host = r.Host.Name;
        r.EnsureSuccess("creating instances", "CreateInstancesFailed");
        var results = r.Lines("RESULT").Select(l => l.Split(' ', 3))
            .GroupBy(a => a[0]).ToDictionary(g => g.Key, g => (Status: g.Last()[1], Message: g.Last().Length > 2 ? g.Last()[2].Trim() : ""));
        var at = r.Stdout.IndexOf(r.Markers["DOMAIN"], StringComparison.Ordinal);
        var instances = (at < 0 ? [] : InstanceReader.Parse(host, r.Stdout[at..], r.Markers)).ToDictionary(x => x.Name);
        return planned.Select(p =>
        {
            var found = instances.GetValueOrDefault(p.Name);
            if (!results.TryGetValue(p.Name, out var res))
                return new CreateOutcome(p.Name, host, found, false, new VfException("CreateOutcomeUnknown", FailureKind.InvalidOperation,
                    $"{host}: no result for instance {p.Name}; run Get-VfInstance to see its state.", p.Name));
            return res.Status switch
            {
                "created" => new CreateOutcome(p.Name, host, found, false, null),
                "exists" => new CreateOutcome(p.Name, host, found, true, null),
                _ => new CreateOutcome(p.Name, host, null, false, new VfException("CreateInstanceFailed", FailureKind.InvalidOperation,
                    $"{host}: instance {p.Name} was not created and nothing of it was left: {res.Message}", p.Name)),
            };
        }).ToList();
    }
}
