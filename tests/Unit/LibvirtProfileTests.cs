using VirtFleet.Libvirt;
using Xunit;
using static VirtFleet.Tests.LibvirtFixtures;

namespace VirtFleet.Tests;

/// <summary>templates/os-profiles.yml: inheritance, overrides, and the errors a bad file gives.</summary>
public class LibvirtProfileTests
{
    public static TheoryData<string, string> AllVariants()
    {
        var data = new TheoryData<string, string>();
        foreach (var family in Catalog.Families)
            foreach (var variant in Catalog.VariantsOf(family))
                data.Add(family, variant);
        return data;
    }

    [Fact]
    public void ShippedFileHasTheExpectedFamiliesAndVariants()
    {
        Assert.Equal(["linux", "windows"], Catalog.Families);
        Assert.Equal(["generic", "debian", "ubuntu", "rhel", "busybox"], Catalog.VariantsOf("linux"));
        Assert.Equal(["win2k8r2", "win2k12r2", "win2k16", "win2k19", "win2k22", "win10", "win11"], Catalog.VariantsOf("windows"));
    }

    [Theory, MemberData(nameof(AllVariants))]
    public void EveryVariantResolvesAndBuilds(string family, string variant)
    {
        var profile = Catalog.Resolve(family, variant);
        Assert.Equal((family, variant), (profile.Family, profile.Variant));
        var domain = DomainBuilder.Build(Request("v-" + variant, memoryMiB: 8192), new() { OsFamily = family, OsVariant = variant }, profile, TcgHost, false);
        Assert.NotEmpty(domain.ToXmlString());
    }

    [Fact]
    public void WindowsFamilyFollowsTheGuide()
    {
        var p = Catalog.Resolve("windows", "win2k22");
        Assert.Equal((ClockOffset.Localtime, DiskBus.Sata, NicModel.E1000, false, false), (p.Clock, p.DiskBus, p.NicModel, p.VirtioDrivers, p.InjectSshKey));
        Assert.Equal([PlatformFeature.Acpi, PlatformFeature.Apic, PlatformFeature.Pae], p.Features);
        Assert.Contains(p.Timers, t => t.Name == "hypervclock" && t.Present == true);
        Assert.Equal(8191, p.SpinlockRetries);
        Assert.Equal((GraphicsType.Vnc, "127.0.0.1", true), (p.Graphics, p.VncListen, p.Tablet));
    }

    [Fact]
    public void VariantKeysOverrideFamilyKeys()
    {
        var old = Catalog.Resolve("windows", "win2k8r2");
        Assert.Equal(("pc", "piix3-uhci"), (old.Machine, old.UsbController));
        Assert.Equal([HyperVFeature.Relaxed, HyperVFeature.Vapic, HyperVFeature.Spinlocks], old.HypervFeatures);
        Assert.Equal(ClockOffset.Localtime, old.Clock); // inherited
        Assert.Equal(Firmware.Efi, Catalog.Resolve("windows", "win11").Firmware);
        Assert.Equal(Firmware.Bios, Catalog.Resolve("windows", "win10").Firmware);
    }

    [Fact]
    public void UnknownVariantGetsFamilyDefaultsAndLookupIgnoresCase()
    {
        var p = Catalog.Resolve("Windows", "win2k25");
        Assert.Equal(("windows", null), (p.Family, p.Variant));
        Assert.Equal(2048, p.MinMemoryMiB);
        Assert.Equal("linux", Catalog.Resolve("linux").ToString());
        Assert.Equal("linux/ubuntu", Catalog.Resolve("LINUX", "Ubuntu").ToString());
    }

    [Fact]
    public void UnknownFamilyIsAnInvalidArgument()
    {
        var e = Assert.Throws<VfException>(() => Catalog.Resolve("plan9"));
        Assert.Equal(("UnknownOsFamily", FailureKind.InvalidArgument), (e.ErrorId, e.Kind));
    }

    [Fact]
    public void UserFileOverlaysKeyByKey()
    {
        var user = OsProfileCatalog.Parse("""
            windows:
              video: qxl
              variants:
                win2k19:
                  virtio_drivers: true
                win2k25:
                  min_memory_mib: 4096
            """, "user.yml");
        var merged = Catalog.Overlay(user);
        var p = merged.Resolve("windows", "win2k19");
        Assert.Equal(("qxl", true, ClockOffset.Localtime), (p.Video, p.VirtioDrivers, p.Clock));
        Assert.Equal("qxl", merged.Resolve("windows", "win2k8r2").Video);
        Assert.Equal("pc", merged.Resolve("windows", "win2k8r2").Machine);
        Assert.Equal(4096, merged.Resolve("windows", "win2k25").MinMemoryMiB);
        Assert.Equal("vga", Catalog.Resolve("windows", "win2k19").Video); // the original is untouched
    }

    [Fact]
    public void LoadSkipsAMissingUserFile()
    {
        var path = Path.Combine(PowerShellHost.RepoRoot, "templates", "os-profiles.yml");
        Assert.Equal(Catalog.Families, OsProfileCatalog.Load(path, "/nonexistent/os-profiles.yml").Families);
    }

    [Fact]
    public void AnEmptyUserFileChangesNothing() =>
        Assert.Equal(Catalog.Resolve("linux").MinMemoryMiB, Catalog.Overlay(OsProfileCatalog.Parse("# nothing yet\n")).Resolve("linux").MinMemoryMiB);

    [Fact]
    public void AMissingProfilesFileIsNamed()
    {
        var e = Assert.Throws<VfException>(() => OsProfileCatalog.Load("/nonexistent/os-profiles.yml"));
        Assert.Equal(("OsProfilesNotReadable", FailureKind.ObjectNotFound), (e.ErrorId, e.Kind));
    }

    [Theory]
    [InlineData("linux: [1, 2", "not valid YAML")]
    [InlineData("- a\n- b", "expected a map")]
    [InlineData("linux:\n  disk_bus: floppy", "at 'disk_bus: floppy'")]
    [InlineData("linux:\n  min_memory_mib: lots", "at 'min_memory_mib: lots'")]
    [InlineData("linux:\n  colour: blue", "at 'colour: blue'")]
    public void BadProfilesAreInvalidData(string yaml, string message)
    {
        var e = Assert.Throws<VfException>(() => Catalog.Overlay(OsProfileCatalog.Parse(yaml, "bad.yml")).Resolve("linux"));
        Assert.Equal(("InvalidOsProfile", FailureKind.InvalidData), (e.ErrorId, e.Kind));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void MissingKeysAreNamed()
    {
        var e = Assert.Throws<VfException>(() => OsProfileCatalog.Parse("linux:\n  machine: q35\n").Resolve("linux"));
        Assert.Contains("firmware", e.Message);
        Assert.Contains("min_memory_mib", e.Message);
    }
}
