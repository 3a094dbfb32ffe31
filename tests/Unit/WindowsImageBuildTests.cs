using System.Xml.Linq;
using VirtFleet.ImageBuilds;
using VirtFleet.Libvirt;
using VirtFleet.Operations;
using VirtFleet.Windows;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// New-VfImageBuild with a generated Windows answer file (-CloudbaseInitMsi): for every supported variant the build's block
/// devices come in the seeds' order (root disk, OS CD, driver CD, then the answer CD and cloudbase-init's CD), the answer file
/// is the variant's, and the build declares what the image will carry.
/// </summary>
public class WindowsImageBuildTests
{
    private static readonly HostCapabilities Caps = HostCapabilities.Parse(
        "<capabilities><host><cpu><arch>x86_64</arch></cpu></host><guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>");

    private static ImageBuildRequest Request(string variant, string? unattended = null) => new()
    {
        Name = "golden-" + variant, Iso = "/isos/windows.iso", DriverIso = "/isos/virtio-win.iso", OsFamily = "Windows", OsVariant = variant,
        DiskGiB = 40, Unattended = unattended, WindowsSetup = new WindowsSetup("/isos/CloudbaseInitSetup_x64.msi"),
        Profiles = OsProfileCatalog.Load(Path.Combine(PowerShellHost.RepoRoot, "templates", "os-profiles.yml")),
    };

    public static TheoryData<string> Variants => [.. WindowsVariant.Supported.Select(v => v.Name)];

    [Theory, MemberData(nameof(Variants))]
    public void EachVariantsBuildOrdersRootDiskOsCdDriverCdThenItsAnswerAndToolsCds(string variant)
    {
        var r = Request(variant);
        const string store = "/var/lib/libvirt/virtfleet";
        var d = ImageBuildPlanner.BuildDomain(r, "i-1", Guid.NewGuid(), $"{store}/isos/os.iso", $"{store}/isos/drivers.iso", unattended: true,
            Caps, kvm: false, DateTime.UtcNow, toolsIsoPath: $"{store}/isos/tools.iso");
        var x = XElement.Parse(ImageBuildPlanner.ToXml(d, ImageBuildPlanner.Metadata(r, d, new string('a', 64), new string('b', 64), DateTime.UtcNow)));
        var disks = x.Element("devices")!.Elements("disk")
            .Select(e => $"{e.Attribute("device")!.Value} {e.Element("source")!.Attribute("file")!.Value}").ToList();
        Assert.Equal([
            $"disk {store}/instances/golden-{variant}/root.qcow2",
            $"cdrom {store}/isos/os.iso",
            $"cdrom {store}/isos/drivers.iso",
            $"cdrom {store}/instances/golden-{variant}/unattended.iso",
            $"cdrom {store}/isos/tools.iso"], disks);
        Assert.Equal("virtio", x.Element("devices")!.Elements("disk").First().Element("target")!.Attribute("bus")!.Value);
        var meta = BuildMetadata.FromDomain(x)!;
        Assert.Equal(["rdp", "icmp", "cloudbase-init", "sysprep"], meta.Features);
        Assert.True(meta.VirtioDrivers);

        // The answer file is the variant's: its drivers from the driver CD, the MSI by the name its CD gives it.
        var answer = ImageBuildOperations.WindowsAnswerText(r, r.WindowsSetup!);
        var folder = WindowsVariant.Find(variant).DriverFolder;
        Assert.Contains($@"E:\viostor\{folder}\amd64", answer);
        Assert.Contains(WindowsSetup.MsiName, answer);
        Assert.DoesNotContain("CloudbaseInitSetup_x64.msi", answer);
    }

    [Fact]
    public void EachBuildGetsItsOwnPasswordAndOnlyWindowsBuildsWithoutAnAnswerFileGenerateOne()
    {
        static string Password(string text) =>
            XDocument.Parse(text).Descendants(XName.Get("AdministratorPassword", "urn:schemas-microsoft-com:unattend")).Single().Elements().First().Value;
        var r = Request("win2k19");
        Assert.NotEqual(Password(ImageBuildOperations.WindowsAnswerText(r, r.WindowsSetup!)), Password(ImageBuildOperations.WindowsAnswerText(r, r.WindowsSetup!)));
        Assert.Equal("WindowsSetupInvalid", Assert.Throws<VfException>(() => ImageBuildOperations.WindowsAnswerText(Request("win2k19", "/a.xml"), r.WindowsSetup!)).ErrorId);
        var linux = new ImageBuildRequest { Name = "l", Iso = "/x.iso", OsFamily = "Linux", DiskGiB = 2, Profiles = r.Profiles };
        Assert.Equal("WindowsSetupInvalid", Assert.Throws<VfException>(() => ImageBuildOperations.WindowsAnswerText(linux, r.WindowsSetup!)).ErrorId);
        Assert.Equal("WindowsVariantUnsupported", Assert.Throws<VfException>(() => ImageBuildOperations.WindowsAnswerText(Request("win10"), r.WindowsSetup!)).ErrorId);
    }

    [Fact]
    public void TheBuildsFeaturesSurviveItsMetadata()
    {
        var meta = new BuildMetadata { Features = ["rdp", "sysprep"] };
        Assert.Equal(["rdp", "sysprep"], BuildMetadata.FromXml(meta.ToXml()).Features);
        Assert.Empty(BuildMetadata.FromXml(new BuildMetadata().ToXml()).Features);
    }
}
