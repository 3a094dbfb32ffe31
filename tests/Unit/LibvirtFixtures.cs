using VirtFleet.Libvirt;

namespace VirtFleet.Tests;

/// <summary>Inputs shared by the libvirt tests: real virsh samples, the shipped profiles, typical requests.</summary>
internal static class LibvirtFixtures
{
    public static readonly DateTime Created = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    public static string UnitDir => Path.Combine(PowerShellHost.RepoRoot, "tests", "Unit");

    /// <summary>XML captured from virsh on a real libvirt 9.0 / QEMU 7.2 machine (see LibvirtSamples/README.md).</summary>
    public static string Sample(string name) => File.ReadAllText(Path.Combine(UnitDir, "LibvirtSamples", name));

    public static OsProfileCatalog Catalog { get; } =
        OsProfileCatalog.Load(Path.Combine(PowerShellHost.RepoRoot, "templates", "os-profiles.yml"));

    /// <summary>An AMD host whose CPU does not expose svm: only TCG is possible.</summary>
    public static HostCapabilities TcgHost { get; } = HostCapabilities.Parse(Sample("capabilities-qemu-tcg.xml"));

    /// <summary>The same host with svm listed, as on bare metal.</summary>
    public static HostCapabilities KvmHost { get; } =
        HostCapabilities.Parse(Sample("capabilities-qemu-tcg.xml").Replace("<feature name='vme'/>", "<feature name='svm'/>"));

    public static InstanceRequest Request(string name, int memoryMiB = 4096, int vcpus = 2) => new()
    {
        Name = name,
        Uuid = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(name))),
        Vcpus = vcpus,
        MemoryMiB = memoryMiB,
        Disks = [new($"/var/lib/libvirt/virtfleet/instances/{name}/root.qcow2")],
        SeedPath = $"/var/lib/libvirt/virtfleet/instances/{name}/seed.iso",
        Nics = [NicRequest.Network("default")],
        Metadata = new VfMetadata
        {
            InstanceId = "i-" + name,
            Image = "img-" + name,
            InstanceType = "m1.medium",
            KeyPair = "ops",
            Networks = ["default"],
            SecurityGroups = ["web"],
            Tags = ["env=test"],
            Created = Created,
        },
    };

    public static Domain Build(InstanceRequest request, ImageProperties image, bool kvm) =>
        DomainBuilder.Build(request, image, Catalog.Resolve(image.OsFamily, image.OsVariant), kvm ? KvmHost : TcgHost, kvmDeviceUsable: kvm);
}
