using System.Xml.Linq;
using VirtFleet.Windows;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>
/// autounattend.xml for each supported variant, compared byte for byte with tests/Unit/Golden/Windows/*.xml
/// (regenerate with VF_UPDATE_GOLDEN=1 and review the diff), and what each must say.
/// </summary>
public class WindowsAnswerFileTests
{
    private static readonly XNamespace U = "urn:schemas-microsoft-com:unattend";

    public static TheoryData<string> Variants => [.. WindowsVariant.Supported.Select(v => v.Name), "win2k22-uefi"];

    private static AnswerFileRequest Request(string name) => new()
    {
        Variant = WindowsVariant.Find(name.Replace("-uefi", "")), Uefi = name.EndsWith("-uefi"),
        BuildPassword = "Build-only-Pa55word!", CloudbaseInitMsi = "CloudbaseInitSetup_x64.msi",
    };

    [Theory, MemberData(nameof(Variants))]
    public void AnswerFileMatchesGoldenFile(string name)
    {
        var text = AnswerFile.ToText(AnswerFile.Build(Request(name)));
        var path = Path.Combine(UnitDir, "Golden", "Windows", $"autounattend-{name}.xml");
        if (Environment.GetEnvironmentVariable("VF_UPDATE_GOLDEN") == "1") File.WriteAllText(path, text);
        Assert.True(File.Exists(path), $"{path} is missing; run the tests once with VF_UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), text);
    }

    [Theory, MemberData(nameof(Variants))]
    public void NamesTheVariantsDriverFoldersOnTheDriverCd(string name)
    {
        var request = Request(name);
        var doc = AnswerFile.Build(request);
        var paths = doc.Descendants(U + "Path").Select(p => p.Value).ToList();
        var folder = request.Variant.DriverFolder;
        // Storage and network drivers while setup runs (windowsPE), the rest into the installed system.
        var pe = Pass(doc, "windowsPE").Descendants(U + "Path").Select(p => p.Value).ToList();
        Assert.Contains($@"E:\viostor\{folder}\amd64", pe);
        Assert.Contains($@"E:\NetKVM\{folder}\amd64", pe);
        Assert.Contains($@"D:\vioscsi\{folder}\amd64", pe);
        Assert.Contains($@"F:\Balloon\{folder}\amd64", Pass(doc, "offlineServicing").Descendants(U + "Path").Select(p => p.Value));
        Assert.All(paths, p => Assert.EndsWith($@"\{folder}\amd64", p));
        Assert.Equal(["windowsPE", "offlineServicing", "specialize", "oobeSystem"],
            doc.Root!.Elements(U + "settings").Select(s => (string)s.Attribute("pass")!));
    }

    [Theory, MemberData(nameof(Variants))]
    public void EnablesRdpAndIcmpInstallsCloudbaseInitAndEndsWithSysprep(string name)
    {
        var doc = AnswerFile.Build(Request(name));
        Assert.Equal("false", doc.Descendants(U + "fDenyTSConnections").Single().Value);
        Assert.Equal("@FirewallAPI.dll,-28752", doc.Descendants(U + "FirewallGroup").Single().Element(U + "Group")!.Value);
        var commands = doc.Descendants(U + "SynchronousCommand").Select(c => c.Element(U + "CommandLine")!.Value).ToList();
        Assert.Contains(commands, c => c.Contains("protocol=icmpv4:8,any"));
        Assert.Contains(commands, c => c.Contains("msiexec /i %d:\\CloudbaseInitSetup_x64.msi /qn") && c.Contains("LOGGINGSERIALPORTNAME=COM1"));
        Assert.StartsWith(@"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /unattend:", commands[^1]);
        Assert.Equal(Enumerable.Range(1, commands.Count).Select(i => i.ToString()),
            doc.Descendants(U + "SynchronousCommand").Select(c => c.Element(U + "Order")!.Value));
    }

    [Fact]
    public void PicksTheEditionAndLaysOutTheDiskForTheFirmware()
    {
        string Index(AnswerFileRequest r) => AnswerFile.Build(r).Descendants(U + "MetaData").Single().Element(U + "Value")!.Value;
        Assert.Equal("1", Index(Request("win2k8r2")));
        Assert.Equal("2", Index(Request("win2k19")));
        Assert.Equal("4", Index(Request("win2k19") with { ImageIndex = 4 }));
        var bios = AnswerFile.Build(Request("win2k19"));
        Assert.Equal("1", bios.Descendants(U + "InstallTo").Single().Element(U + "PartitionID")!.Value);
        Assert.Equal("true", bios.Descendants(U + "ModifyPartition").Single().Element(U + "Active")!.Value);
        var uefi = AnswerFile.Build(Request("win2k22-uefi"));
        Assert.Equal(["EFI", "MSR", "Primary"], uefi.Descendants(U + "CreatePartition").Select(p => p.Element(U + "Type")!.Value));
        Assert.Equal("3", uefi.Descendants(U + "InstallTo").Single().Element(U + "PartitionID")!.Value);
        Assert.Empty(bios.Descendants(U + "ProductKey"));
        Assert.Single(AnswerFile.Build(Request("win2k19") with { ProductKey = "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE" }).Descendants(U + "ProductKey"));
    }

    [Fact]
    public void ValuesStayValuesAndBadInputIsRefused()
    {
        var hostile = Request("win2k19") with { BuildPassword = "a<b>&\"c'</Value><x/>", Locale = "de-DE" };
        var reread = XDocument.Parse(AnswerFile.ToText(AnswerFile.Build(hostile)));
        Assert.All(reread.Descendants(U + "Password").Concat(reread.Descendants(U + "AdministratorPassword")),
            p => Assert.Equal("a<b>&\"c'</Value><x/>", p.Element(U + "Value")!.Value));
        Assert.Empty(reread.Descendants(U + "x"));
        Assert.Equal("de-DE", reread.Descendants(U + "UserLocale").First().Value);
        Assert.Equal("CloudbaseInitMsiInvalid", Assert.Throws<VfException>(() => AnswerFile.Build(Request("win2k19") with { CloudbaseInitMsi = "x&calc.msi" })).ErrorId);
        Assert.Equal("CloudbaseInitMsiInvalid", Assert.Throws<VfException>(() => AnswerFile.Build(Request("win2k19") with { CloudbaseInitMsi = "setup.exe" })).ErrorId);
        Assert.Equal("WindowsVariantUnsupported", Assert.Throws<VfException>(() => WindowsVariant.Find("win2k3")).ErrorId);
    }

    private static XElement Pass(XDocument doc, string pass) =>
        doc.Root!.Elements(U + "settings").Single(s => (string)s.Attribute("pass")! == pass);
}

/// <summary>Test-VfImage's list: what a cloud Windows image needs, against what its manifest declares.</summary>
public class WindowsImageRequirementTests
{
    [Fact]
    public void ListsEachRequirementAndWhatTheManifestDeclares()
    {
        var bare = new Images.ImageManifest { Name = "win2008", OsFamily = "Windows" };
        Assert.Equal(["virtio-drivers", "rdp", "icmp", "cloudbase-init", "sysprep"], ImageRequirements.Check(bare).Select(c => c.Requirement));
        Assert.All(ImageRequirements.Check(bare), c => Assert.False(c.Declared));
        var built = Images.ImageManifest.Parse("""{"name":"golden","osFamily":"Windows","virtioDrivers":true,"features":["RDP","icmp","cloudbase-init","sysprep"]}""", "t");
        Assert.All(ImageRequirements.Check(built), c => Assert.True(c.Declared, c.Requirement));
        Assert.Contains("\"features\"", built.ToJson());
        Assert.Empty(ImageRequirements.Check(new Images.ImageManifest { Name = "vflinux", OsFamily = "Linux" }));
    }
}
