using System.Text;
using System.Xml.Linq;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.Libvirt;

namespace VirtFleet.ImageBuilds;

/// <summary>
/// The domain of an image build, through the domain object model and the OS profile's defaults pass
/// (<see cref="DomainBuilder"/>), with the block devices in the order the seed's workflow needs: a new empty root disk
/// first (virtio, or the profile's SATA/IDE bus when the OS has no virtio drivers and no driver ISO is given), the OS ISO as
/// the first CD-ROM, the driver ISO as the second, an answer file's ISO after them. The boot order is disk, then CD-ROM:
/// the empty disk does not boot, so the first boot is the installer's; once it has written a system, the disk boots.
/// </summary>
public static class ImageBuildPlanner
{
    /// <summary>The root disk's file in the build's folder.</summary>
    public const string RootFile = "root.qcow2";
    public const string UnattendedFile = "unattended.iso";

    /// <summary>The root disk's bus for a build: the request's, else virtio when the OS or a driver ISO brings the drivers, else the profile's.</summary>
    public static DiskBus RootBus(ImageBuildRequest request, OsProfile profile) =>
        request.DiskBus ?? (profile.VirtioDrivers || request.DriverIso is not null ? DiskBus.Virtio : profile.DiskBus);

    /// <summary>The build's domain (pure: the same inputs give the same XML).</summary>
    public static Domain BuildDomain(ImageBuildRequest request, string instanceId, Guid uuid, string isoPath, string? driverIsoPath,
        bool unattended, HostCapabilities caps, bool kvm, DateTime started, string? toolsIsoPath = null)
    {
        var name = Names.ValidateInstanceName(request.Name);
        var dir = HostPaths.Instances + "/" + name;
        var profile = request.Profiles.Resolve(request.OsFamily.ToLowerInvariant(), request.OsVariant);
        var bus = RootBus(request, profile);
        var firmware = request.Firmware is { } f ? (f.Equals("uefi", StringComparison.OrdinalIgnoreCase) || f.Equals("efi", StringComparison.OrdinalIgnoreCase) ? Firmware.Efi : Firmware.Bios) : profile.Firmware;
        var props = new ImageProperties
        {
            OsFamily = request.OsFamily.ToLowerInvariant(), OsVariant = request.OsVariant, DiskBus = bus, Firmware = firmware,
            VirtioDrivers = request.DriverIso is not null ? true : null,
        };
        var req = new InstanceRequest
        {
            Name = name, Uuid = uuid, Vcpus = request.Vcpus,
            MemoryMiB = request.MemoryMiB > 0 ? request.MemoryMiB : Math.Max(1024, profile.MinMemoryMiB),
            Disks = [new DiskRequest(dir + "/" + RootFile)],
            ConsoleLog = dir + "/" + InstanceCreator.ConsoleLogFile,
            Metadata = new VfMetadata { InstanceId = instanceId, Created = started, Tags = ["image-build"] },
        };
        var domain = DomainBuilder.Build(req, props, profile, caps, kvm);
        // The CD-ROMs after the root disk, in the seed's order: OS, drivers, then an answer file.
        var cdBus = profile.SeedBus;
        var cds = new List<string> { Names.ValidateHostPath(isoPath) };
        if (driverIsoPath is not null) cds.Add(Names.ValidateHostPath(driverIsoPath));
        if (unattended) cds.Add(dir + "/" + UnattendedFile);
        if (toolsIsoPath is not null) cds.Add(Names.ValidateHostPath(toolsIsoPath));
        domain.Devices.Disks.AddRange(cds.Select(p => new DomainDisk { Device = DiskDevice.Cdrom, Path = p, Format = "raw", Bus = cdBus, ReadOnly = true }));
        if (unattended) domain.Metadata!.Disks.Add(dir + "/" + UnattendedFile);
        // q35 has no IDE controller.
        if (domain.Devices.Disks.Any(d => d.Bus == DiskBus.Ide) && (domain.Os.Machine == "q35" || domain.Os.Machine.StartsWith("pc-q35", StringComparison.Ordinal)))
            domain.Os.Machine = "pc";
        domain.Os.BootDevices = ["hd", "cdrom"];
        domain.Title = $"VirtFleet image build from {Path.GetFileName(request.Iso)}".Replace('\n', ' ').Replace('\r', ' ');
        return domain;
    }

    /// <summary>The build's metadata block.</summary>
    public static BuildMetadata Metadata(ImageBuildRequest request, Domain domain, string isoSha, string? driverSha, DateTime started) => new()
    {
        OsFamily = request.OsFamily.ToLowerInvariant(), OsVariant = request.OsVariant,
        Firmware = domain.Os.Firmware == Firmware.Efi ? "uefi" : "bios",
        DiskBus = LibvirtXml.Lower(domain.Devices.Disks[0].Bus), DiskGiB = request.DiskGiB,
        RootDisk = domain.Devices.Disks[0].Path, VirtioDrivers = request.DriverIso is not null,
        Features = request.WindowsSetup is null ? [] : [.. WindowsSetup.Features],
        IsoName = Path.GetFileName(request.Iso), IsoSha256 = isoSha,
        DriverIsoName = request.DriverIso is null ? null : Path.GetFileName(request.DriverIso), DriverIsoSha256 = driverSha,
        Started = started,
    };

    /// <summary>The domain's XML with the build block beside the instance's in &lt;metadata&gt; (both through the object model).</summary>
    public static string ToXml(Domain domain, BuildMetadata build)
    {
        var xml = domain.ToXml();
        xml.Element("metadata")!.Add(build.ToXml());
        return LibvirtXml.Format(xml);
    }

    /// <summary>The create (build-create.sh, under the host lock) as a typed step: the build's domain as it is now.</summary>
    public static HostStep<ImageBuild> CreateStep(string name, Guid uuid, long sizeBytes, string xml, byte[]? unattendedIso, string host) =>
        HostScript.Load("build-create").Include("domains")
            .Args([name, uuid.ToString(), sizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(xml)), unattendedIso is null ? "" : Convert.ToBase64String(Gzip(unattendedIso))])
            .Locked()
            .Reads(r =>
            {
                if (r.ExitCode == 3)
                    throw new VfException("ImageBuildExists", FailureKind.ResourceExists, $"{r.Host.Name}: {r.Stderr.Trim()}", name);
                r.EnsureSuccess($"creating image build {name}", "ImageBuildCreateFailed");
                return ImageBuildReader.Parse(r.Host.Name, r.Stdout, r.Markers).SingleOrDefault(b => b.Name == name)
                       ?? throw new VfException("ImageBuildCreateFailed", FailureKind.InvalidOperation,
                           $"{r.Host.Name}: build {name} was created but could not be read back.", name);
            });

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest)) gz.Write(data);
        return buffer.ToArray();
    }
}
