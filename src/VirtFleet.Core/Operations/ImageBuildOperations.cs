using System.Text;
using VirtFleet.CloudInit;
using VirtFleet.HostScripts;
using VirtFleet.ImageBuilds;
using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Windows;
using System.Security.Cryptography;

namespace VirtFleet.Operations;

/// <summary>What Complete-VfImageBuild asks for.</summary>
public sealed class CompleteImageBuildRequest
{
    /// <summary>The builds to complete (as Get-VfImageBuild read them), or names to find on <see cref="SearchHosts"/>.</summary>
    public IReadOnlyList<ImageBuild> Builds { get; init; } = [];
    public IReadOnlyList<string> Names { get; init; } = [];
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>The image's name (one build only); default: the build's name.</summary>
    public string? ImageName { get; init; }
    /// <summary>Seconds to wait for the guest's own power-off after an ACPI shutdown request.</summary>
    public int TimeoutSeconds { get; init; } = 300;
    /// <summary>Power the guest off at once when it is not off.</summary>
    public bool Force { get; init; }
}

/// <summary>
/// Image builds from an OS ISO (the seed's workflow): New (ISOs uploaded to one host where missing, a build domain with a new
/// empty root disk first, the OS CD-ROM second and the driver CD-ROM third, started), List (builds in progress), Complete
/// (the guest's own power-off awaited, the root disk, never a CD-ROM, copied into a catalog image with the build's
/// properties, then the build removed) and Remove (the build's domain and the files VirtFleet made for it; the cached ISOs stay).
/// </summary>
public static class ImageBuildOperations
{
    /// <summary>A name for a build from its ISO's file name (letters, digits, '-', '_', '.'), when none is given.</summary>
    public static string DefaultName(string iso)
    {
        var stem = new string(Path.GetFileNameWithoutExtension(iso).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray())
            .TrimStart('-', '.');
        if (stem.Length == 0) stem = "image";
        return stem.Length > 57 ? stem[..57] : stem;
    }

    /// <summary>
    /// Starts an image build on one host: the first of <see cref="ImageBuildRequest.Hosts"/> that answers, runs libvirt and has
    /// no domain of that name. Null when declined (ShouldProcess).
    /// </summary>
    public static async Task<ImageBuild?> NewAsync(FleetScope scope, ImageBuildRequest request, CancellationToken ct)
    {
        Names.ValidateInstanceName(request.Name);
        foreach (var (path, what) in new[] { (request.Iso, "ISO"), (request.DriverIso, "driver ISO"), (request.Unattended, "answer file"),
                     (request.WindowsSetup?.CloudbaseInitMsi, "cloudbase-init MSI") })
            if (path is not null && !File.Exists(path))
                throw new VfException("ImageBuildFileNotFound", FailureKind.ObjectNotFound, $"No {what} {path}.", path);
        if (request.DiskGiB is < 1 or > 65536)
            throw new VfException("InvalidDiskSize", FailureKind.InvalidArgument, $"A build's disk is 1-65536 GiB, not {request.DiskGiB}.", request.Name);
        byte[]? unattended = null;
        if (request.Unattended is { } answers)
        {
            var file = Path.GetFileName(answers);
            if (new FileInfo(answers).Length > 4 << 20)
                throw new VfException("AnswerFileTooLarge", FailureKind.InvalidArgument, $"{answers} is over 4 MiB; an answer file is small.", answers);
            unattended = Iso9660Writer.Build("OEMDRV", [new IsoFile(file, await File.ReadAllBytesAsync(answers, ct))]);
        }
        if (request.WindowsSetup is { } setup)
            unattended = Iso9660Writer.Build("OEMDRV", [new IsoFile(AnswerFile.FileName, Encoding.UTF8.GetBytes(WindowsAnswerText(request, setup)))]);
        // The domain is planned before anything is uploaded, so a bad OS family or size fails first.
        if (request.Hosts.Count == 0)
            throw new VfException("NoHostSelected", FailureKind.InvalidArgument, "No host was selected for the build.", request.Name);

        HostSurvey? survey = null;
        HostEntry? chosen = null;
        foreach (var h in request.Hosts)
        {
            try
            {
                var s = await InstanceCreator.SurveyStep(request.Name).RunAsync(scope.Connect(h), ct);
                if (!s.Facts.LibvirtRunning) { scope.Report.Verbose($"{h.Name}: libvirt is not running; not building there"); continue; }
                if (s.DomainNames.Contains(request.Name))
                    throw new VfException("ImageBuildExists", FailureKind.ResourceExists, $"{h.Name}: a domain named {request.Name} already exists.", request.Name);
                (survey, chosen) = (s, h);
                break;
            }
            catch (VfException e) when (e.ErrorId != "ImageBuildExists" && request.Hosts.Count > 1)
            {
                scope.Report.Warning($"{h.Name}: {e.Message}; trying the next host");
            }
        }
        if (survey is null || chosen is null)
            throw new VfException("NoHostForBuild", FailureKind.ResourceUnavailable, "No selected host can take the build (none answered with libvirt running).", request.Name);

        var started = DateTime.UtcNow;
        var uuid = Guid.NewGuid();
        var id = InstanceCreator.NewInstanceId();
        // A plan with placeholder ISO paths checks the request (profile, memory, arch) before the upload.
        var placeholder = IsoStore.HostPath(new string('0', 64));
        _ = ImageBuildPlanner.BuildDomain(request, id, uuid, placeholder, request.DriverIso is null ? null : placeholder,
            unattended is not null, survey.Capabilities, survey.Facts.KvmDevice, started, request.WindowsSetup is null ? null : placeholder);
        if (!scope.Report.ShouldProcess($"{request.Name} on {chosen.Name}", $"Start an image build from {Path.GetFileName(request.Iso)}")) return null;

        var host = scope.Connect(chosen);
        var isoSha = await IsoStore.HashAsync(request.Iso, ct);
        var driverSha = request.DriverIso is null ? null : await IsoStore.HashAsync(request.DriverIso, ct);
        // cloudbase-init's MSI travels on a CD of its own, cached on the host like the ISOs (it holds nothing secret).
        string? toolsIso = null, toolsSha = null;
        try
        {
            if (request.WindowsSetup is { } tools)
            {
                toolsIso = Path.Combine(Path.GetTempPath(), $"virtfleet-tools-{Guid.NewGuid():N}.iso");
                await File.WriteAllBytesAsync(toolsIso, Iso9660Writer.Build("VFTOOLS",
                    [new IsoFile(WindowsSetup.MsiName, await File.ReadAllBytesAsync(tools.CloudbaseInitMsi, ct))]), ct);
                toolsSha = await IsoStore.HashAsync(toolsIso, ct);
            }
            foreach (var (path, sha) in new[] { (request.Iso, isoSha), (request.DriverIso, driverSha), (toolsIso, toolsSha) })
            {
                if (path is null || sha is null) continue;
                var copied = await IsoStore.EnsureOnHostAsync(host, path, sha, null, ct);
                scope.Report.Verbose($"{chosen.Name}: {(copied ? "uploaded" : "already had")} {Path.GetFileName(path)} ({sha[..12]})");
            }
        }
        finally { if (toolsIso is not null) File.Delete(toolsIso); }
        var domain = ImageBuildPlanner.BuildDomain(request, id, uuid, IsoStore.HostPath(isoSha), driverSha is null ? null : IsoStore.HostPath(driverSha),
            unattended is not null, survey.Capabilities, survey.Facts.KvmDevice, started, toolsSha is null ? null : IsoStore.HostPath(toolsSha));
        var meta = ImageBuildPlanner.Metadata(request, domain, isoSha, driverSha, started);
        var xml = ImageBuildPlanner.ToXml(domain, meta);
        return await ImageBuildPlanner.CreateStep(request.Name, uuid, (long)request.DiskGiB << 30, xml, unattended, chosen.Name).RunAsync(host, ct);
    }

    /// <summary>
    /// The generated autounattend.xml of a Windows build: the variant's drivers and edition, the firmware's disk layout, and a
    /// random administrator password for this build only (each instance's first boot replaces it).
    /// </summary>
    public static string WindowsAnswerText(ImageBuildRequest request, WindowsSetup setup)
    {
        if (!string.Equals(request.OsFamily, "windows", StringComparison.OrdinalIgnoreCase) || request.Unattended is not null)
            throw new VfException("WindowsSetupInvalid", FailureKind.InvalidArgument,
                "A generated answer file is for a Windows build (-OsFamily Windows) without an -Unattended file of its own.", request.Name);
        var variant = WindowsVariant.Find(request.OsVariant ?? "");
        var uefi = request.Firmware is { } f && (f.Equals("uefi", StringComparison.OrdinalIgnoreCase) || f.Equals("efi", StringComparison.OrdinalIgnoreCase));
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)).Replace('/', '-').Replace('+', '_') + "Aa1!";
        return AnswerFile.ToText(AnswerFile.Build(new AnswerFileRequest
        {
            Variant = variant, BuildPassword = password, CloudbaseInitMsi = WindowsSetup.MsiName, Locale = setup.Locale,
            ProductKey = setup.ProductKey, ImageIndex = setup.ImageIndex, Uefi = uefi,
        }));
    }

    /// <summary>The builds on <paramref name="hosts"/> whose names match (wildcards; null: all), one round trip per host.</summary>
    public static async Task<IReadOnlyList<ImageBuild>> ListAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts, IReadOnlyList<string>? names,
        CancellationToken ct, Action<IReadOnlyList<ImageBuild>>? onHost = null)
    {
        var found = new List<ImageBuild>();
        await scope.ForEachHostAsync(hosts, "Listing image builds", (h, c) => ImageBuildReader.ListStep().RunAsync(h, c), ct, (_, builds) =>
        {
            var mine = builds.Where(b => names is null || names.Any(n => Wildcard.IsMatch(b.Name, n))).OrderBy(b => b.Name, StringComparer.Ordinal).ToList();
            lock (found) found.AddRange(mine);
            onHost?.Invoke(mine);
        });
        return found;
    }

    private static async Task<IReadOnlyList<ImageBuild>> TargetsAsync(FleetScope scope, IReadOnlyList<ImageBuild> builds, IReadOnlyList<string> names,
        IReadOnlyList<HostEntry> hosts, CancellationToken ct)
    {
        var targets = builds.ToList();
        if (names.Count == 0) return targets;
        var found = await ListAsync(scope, hosts, names, ct);
        foreach (var n in names.Where(n => !found.Any(b => Wildcard.IsMatch(b.Name, n))))
            scope.Report.Failure(new VfException("ImageBuildNotFound", FailureKind.ObjectNotFound, $"No image build matches '{n}'.", n));
        targets.AddRange(found);
        return targets;
    }

    /// <summary>
    /// Completes builds: for each (hosts in parallel, one build of a host after another) the guest's own power-off is awaited
    /// (bounded; -Force powers it off), its root disk (checked to be a disk, never a CD-ROM) is copied by qemu-img into the
    /// host's image store as a new image with the build's properties, and the build is removed; one error per failed build.
    /// Returns the images made.
    /// </summary>
    public static async Task<IReadOnlyList<ImageInfo>> CompleteAsync(FleetScope scope, CompleteImageBuildRequest request, CancellationToken ct,
        Action<ImageInfo>? onDone = null)
    {
        var targets = await TargetsAsync(scope, request.Builds, request.Names, request.SearchHosts, ct);
        if (request.ImageName is not null && targets.Count > 1)
            throw new VfException("ImageNameForOneBuild", FailureKind.InvalidArgument, "-ImageName names the image of one build; several were given.", request.ImageName);
        var asked = targets.Where(b => scope.Report.ShouldProcess($"{b.Name} on {b.Host}", $"Complete image build into image {request.ImageName ?? b.Name}")).ToList();
        var made = new List<ImageInfo>();
        var hosts = asked.Select(b => b.Host).Distinct().Select(n => scope.Inventory.Find(n)
            ?? throw new VfException("HostNotInInventory", FailureKind.ObjectNotFound, $"Host {n} is not in the inventory {scope.Inventory.Path}.", n)).ToList();
        await scope.ForEachHostAsync(hosts, "Completing image builds", async (host, c) =>
        {
            foreach (var b in asked.Where(x => x.Host == host.Host.Name))
            {
                try
                {
                    var image = await CompleteOneAsync(host, b, request.ImageName ?? b.Name, request, c);
                    lock (made) made.Add(image);
                    onDone?.Invoke(image);
                }
                catch (VfException e) { scope.Report.Failure(FleetScope.OnHost(e, b.Name)); }
            }
            return true;
        }, ct);
        return made;
    }

    private static async Task<ImageInfo> CompleteOneAsync(Transport.IRemoteHost host, ImageBuild b, string imageName, CompleteImageBuildRequest request, CancellationToken ct)
    {
        Names.ValidateInstanceName(imageName);
        var meta = b.Metadata ?? throw new VfException("ImageBuildUnreadable", FailureKind.InvalidData, $"{b.Host}: {b.Name} carries no build metadata.", b.Name);
        var uuid = b.Instance?.Uuid ?? throw new VfException("ImageBuildUnreadable", FailureKind.InvalidData, $"{b.Host}: {b.Name} has no UUID.", b.Name);
        var staging = HostPaths.Images + "/." + imageName + ".partial";
        var capture = await HostScript.Load("build-capture").Set("name", b.Name).Set("uuid", uuid.ToString()).Set("wait", request.TimeoutSeconds.ToString())
            .Set("force", request.Force ? "1" : "0").Set("root", Names.ValidateHostPath(meta.RootDisk)).Set("staging", staging)
            .Locked(TimeSpan.FromSeconds(request.TimeoutSeconds) + TimeSpan.FromMinutes(30), orCommandTimeout: true).RunAsync(host, ct);
        switch (capture.ExitCode)
        {
            case 3: throw new VfException("ImageBuildChanged", FailureKind.ObjectNotFound, $"{b.Host}: {capture.Stderr.Trim()}", b.Name);
            case 4: throw new VfException("ImageBuildStillRunning", FailureKind.OperationTimeout, $"{b.Host}: {capture.Stderr.Trim()}", b.Name);
            case 5: throw new VfException("ImageBuildRootDiskMissing", FailureKind.InvalidData, $"{b.Host}: {capture.Stderr.Trim()}", b.Name);
        }
        capture.EnsureSuccess($"copying the root disk of {b.Name}", "ImageBuildCaptureFailed");
        var result = capture.Lines("RESULT").LastOrDefault()?.Split(' ');
        if (result is not [var sum, var sizeText] || !long.TryParse(sizeText, out var size))
            throw new VfException("ImageBuildCaptureFailed", FailureKind.InvalidData, $"{b.Host}: the root disk's copy gave no checksum and size.", b.Name);

        var manifest = new ImageManifest
        {
            Name = imageName, OsFamily = meta.OsFamily, OsVariant = meta.OsVariant, Firmware = meta.Firmware, DiskBus = meta.DiskBus,
            VirtioDrivers = meta.VirtioDrivers ? true : null, Features = meta.Features.Count > 0 ? meta.Features : null,
            Disk = ImageManifest.DiskFileName, VirtualSize = size,
            Files = new Dictionary<string, string> { [ImageManifest.DiskFileName] = sum }, Imported = DateTime.UtcNow,
        };
        manifest.Version = manifest.ContentVersion();
        var batch = new HostBatch();
        var install = batch.Add(HostScript.Load("image-install").Set("staging", staging).Set("dir", ImageStore.HostImageDir(imageName))
            .Set("ver", manifest.Version).Set("manifest", manifest.ToJson()).Locked().Reads(r => r));
        var removal = batch.Add(InstanceActions.Step(InstanceAction.Remove, [new InstanceActions.Target(b.Name, b.InstanceId)], 60, false), onlyAfterSuccess: true);
        await batch.RunAsync(host, ct);
        install.Reply.EnsureSuccess($"installing image {imageName} from build {b.Name}", "ImageInstallFailed");
        if (removal.Value.FirstOrDefault(o => o.Error is not null) is { Error: { } e })
            throw new VfException("ImageBuildRemoveFailed", FailureKind.InvalidOperation,
                $"{b.Host}: image {imageName} was made, but build {b.Name} could not be removed: {e.Message}", b.Name, e);
        return new ImageInfo
        {
            Name = manifest.Name, OsFamily = manifest.OsFamily, OsVariant = manifest.OsVariant, Kernel = false,
            VirtualSizeMiB = manifest.VirtualSize >> 20, Hosts = [b.Host], Manifest = manifest,
        };
    }

    /// <summary>Removes builds (their domains and the files VirtFleet made for them; the cached ISOs stay), asking for each.</summary>
    public static async Task<InstanceActionResult> RemoveAsync(FleetScope scope, IReadOnlyList<ImageBuild> builds, IReadOnlyList<string> names,
        IReadOnlyList<HostEntry> searchHosts, CancellationToken ct, Action<ImageBuild, InstanceActionOutcome>? onDone = null)
    {
        var targets = await TargetsAsync(scope, builds, names, searchHosts, ct);
        var asked = targets.Where(b => b.Instance is not null && scope.Report.ShouldProcess($"{b.Name} on {b.Host}", "Remove image build")).ToList();
        if (asked.Count == 0) return new InstanceActionResult([]);
        // ShouldProcess was asked here; the release path itself is RemoveInstances' (the one release path of instances).
        var quiet = scope.With(new ApprovedReporter(scope.Report));
        return await RemoveInstances.RunAsync(quiet, new InstanceActionRequest { Action = InstanceAction.Remove, Instances = asked.Select(b => b.Instance!).ToList() }, ct,
            o => { if (asked.FirstOrDefault(b => b.Host == o.Host && b.Name == o.Name) is { } b) onDone?.Invoke(b, o); });
    }
}
