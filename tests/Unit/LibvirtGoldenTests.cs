using System.Diagnostics;
using VirtFleet.Libvirt;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>
/// The domain XML each profile combination produces, compared byte for byte with tests/Unit/Golden/*.xml.
/// After an intended change, regenerate them with:  VF_UPDATE_GOLDEN=1 dotnet test tests/Unit -c Release
/// and review the diff like any other code change.
/// </summary>
public class LibvirtGoldenTests
{
    static readonly Dictionary<string, Func<Domain>> Cases = new()
    {
        ["windows-win2k8r2-kvm"] = () => Build(Request("legacy-app"), new() { OsFamily = "windows", OsVariant = "win2k8r2" }, kvm: true),
        ["windows-win2k22-virtio-uefi-kvm"] = () => Build(Request("dc-01"),
            new() { OsFamily = "windows", OsVariant = "win2k22", VirtioDrivers = true, Firmware = Firmware.Efi }, kvm: true),
        ["windows-win2k19-qemu"] = () => Build(Request("build-agent"), new() { OsFamily = "windows", OsVariant = "win2k19" }, kvm: false),
        ["linux-ubuntu-kvm"] = () => Build(UbuntuRequest(), new() { OsFamily = "linux", OsVariant = "ubuntu" }, kvm: true),
        ["linux-ubuntu-qemu"] = () => Build(UbuntuRequest(), new() { OsFamily = "linux", OsVariant = "ubuntu" }, kvm: false),
        ["linux-busybox-kernelboot-qemu"] = () => Build(Request("tiny-1", memoryMiB: 128, vcpus: 1), new()
        {
            OsFamily = "linux", OsVariant = "busybox",
            Kernel = "/var/lib/libvirt/virtfleet/images/busybox/vmlinuz",
            Initrd = "/var/lib/libvirt/virtfleet/images/busybox/initrd.img",
            Cmdline = "console=ttyS0 quiet panic=-1",
        }, kvm: false),
        ["linux-hostile-metadata-qemu"] = () => Build(LibvirtXmlTests.HostileRequest(), new() { OsFamily = "linux" }, kvm: false),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    static string GoldenPath(string name) => Path.Combine(UnitDir, "Golden", name + ".xml");

    static InstanceRequest UbuntuRequest()
    {
        var request = Request("web-1");
        request.Disks.Add(new("/srv/volumes/web-1-data.qcow2", Owned: false));
        request.Nics = [NicRequest.Bridge("br0", "52:54:00:AA:BB:01")];
        request.Title = "Web server 1";
        return request;
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void DomainXmlMatchesGoldenFile(string name)
    {
        var xml = Cases[name]().ToXmlString();
        var path = GoldenPath(name);
        if (Environment.GetEnvironmentVariable("VF_UPDATE_GOLDEN") == "1")
            File.WriteAllText(path, xml);
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with VF_UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), xml);
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void DomainXmlIsDeterministic(string name) =>
        Assert.Equal(Cases[name]().ToXmlString(), Cases[name]().ToXmlString());

    /// <summary>libvirt's own RelaxNG schema accepts every golden file (when libvirt-clients and xmllint are installed).</summary>
    [Theory, MemberData(nameof(CaseNames))]
    public void GoldenFileValidatesAgainstLibvirtSchema(string name)
    {
        var tool = OnPath("virt-xml-validate");
        if (tool is null || OnPath("xmllint") is null) return; // nothing to validate with on this machine
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(GoldenPath(name));
        start.ArgumentList.Add("domain");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"virt-xml-validate rejected {name}: {output}");
    }

    static string? OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
}
