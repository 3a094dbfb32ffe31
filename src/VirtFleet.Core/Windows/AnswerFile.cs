using System.Xml.Linq;

namespace VirtFleet.Windows;

/// <summary>What an unattended Windows install is told.</summary>
public sealed record AnswerFileRequest
{
    public required WindowsVariant Variant { get; init; }
    /// <summary>The administrator password for the build only: each instance's first boot replaces it (see <see cref="FirstBootScript"/>).</summary>
    public required string BuildPassword { get; init; }
    /// <summary>The file name of cloudbase-init's MSI on the answer CD (which also holds autounattend.xml).</summary>
    public string CloudbaseInitMsi { get; init; } = "CloudbaseInitSetup.msi";
    public string Locale { get; init; } = "en-US";
    public string TimeZone { get; init; } = "UTC";
    /// <summary>null: the install.wim index of <see cref="Variant"/>.</summary>
    public int? ImageIndex { get; init; }
    /// <summary>null: none (volume-licensed and evaluation media need none).</summary>
    public string? ProductKey { get; init; }
    public bool Uefi { get; init; }
}

/// <summary>
/// autounattend.xml for building a cloud image from a Windows ISO plus the virtio-win CD, as an object model (every value
/// an XML text or attribute node, never pasted text):
/// <list type="bullet">
/// <item>windowsPE: locale; the virtio storage, SCSI and network drivers loaded from the driver CD during setup (its
/// drive letter is not known in advance, so each folder is listed for D: to H:; setup skips the ones that are not
/// there; no floppy: every supported version reads drivers from a CD); disk 0 wiped and partitioned (BIOS: one active
/// NTFS partition; UEFI: EFI, MSR, Windows); the edition by install.wim index; EULA accepted.</item>
/// <item>offlineServicing: the remaining virtio drivers (balloon, serial) installed into the new system.</item>
/// <item>specialize: Remote Desktop on and allowed through the firewall (by its locale-independent group id).</item>
/// <item>oobeSystem: OOBE answered; one automatic logon with the build password runs the first-logon commands: ICMP
/// echo allowed, cloudbase-init installed from the answer CD (logging to COM1, running as LocalSystem), then sysprep
/// /generalize /oobe /shutdown with cloudbase-init's own unattend file, so each instance is specialized by cloudbase-init
/// at its first boot. The build ends when the guest powers off.</item>
/// </list>
/// </summary>
public static class AnswerFile
{
    public const string FileName = "autounattend.xml";
    private static readonly XNamespace U = "urn:schemas-microsoft-com:unattend";
    private static readonly XNamespace Wcm = "http://schemas.microsoft.com/WMIConfig/2002/State";
    private static readonly string[] DriveLetters = ["D", "E", "F", "G", "H"];
    private const string RemoteDesktopGroup = "@FirewallAPI.dll,-28752";
    private const string CloudbaseInitDir = @"C:\Program Files\Cloudbase Solutions\Cloudbase-Init";

    public static XDocument Build(AnswerFileRequest r)
    {
        var v = r.Variant;
        var setupDrivers = new[] { "viostor", "vioscsi", "NetKVM" };
        var systemDrivers = new[] { "Balloon", "vioserial", "NetKVM" };
        return new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement(U + "unattend", new XAttribute(XNamespace.Xmlns + "wcm", Wcm),
                Pass("windowsPE",
                    Component("Microsoft-Windows-International-Core-WinPE",
                        E("SetupUILanguage", E("UILanguage", r.Locale)), Locales(r.Locale)),
                    Component("Microsoft-Windows-PnpCustomizationsWinPE", DriverPaths(setupDrivers, v)),
                    Component("Microsoft-Windows-Setup",
                        E("DiskConfiguration", E("WillShowUI", "OnError"), Added("Disk", null,
                            E("DiskID", "0"), E("WillWipeDisk", "true"), Partitions(r.Uefi))),
                        E("ImageInstall", E("OSImage",
                            E("InstallFrom", E("MetaData", new XAttribute(Wcm + "action", "add"),
                                E("Key", "/IMAGE/INDEX"), E("Value", (r.ImageIndex ?? v.ImageIndex).ToString()))),
                            E("InstallTo", E("DiskID", "0"), E("PartitionID", r.Uefi ? "3" : "1")),
                            E("WillShowUI", "OnError"))),
                        E("UserData", E("AcceptEula", "true"), E("FullName", "VirtFleet"), E("Organization", "VirtFleet"),
                            r.ProductKey is { } key ? E("ProductKey", E("Key", key), E("WillShowUI", "OnError")) : null))),
                Pass("offlineServicing",
                    Component("Microsoft-Windows-PnpCustomizationsNonWinPE", DriverPaths(systemDrivers, v))),
                Pass("specialize",
                    Component("Microsoft-Windows-Shell-Setup", E("ComputerName", "*"), E("TimeZone", r.TimeZone)),
                    Component("Microsoft-Windows-TerminalServices-LocalSessionManager", E("fDenyTSConnections", "false")),
                    Component("Networking-MPSSVC-Svc", E("FirewallGroups", Added("FirewallGroup", "RemoteDesktop",
                        E("Active", "true"), E("Group", RemoteDesktopGroup), E("Profile", "all"))))),
                Pass("oobeSystem",
                    Component("Microsoft-Windows-International-Core", Locales(r.Locale)),
                    Component("Microsoft-Windows-Shell-Setup",
                        E("OOBE", E("HideEULAPage", "true"), E("NetworkLocation", "Work"), E("ProtectYourPC", "3"), E("SkipMachineOOBE", "true")),
                        E("UserAccounts", E("AdministratorPassword", E("Value", r.BuildPassword), E("PlainText", "true"))),
                        E("AutoLogon", E("Enabled", "true"), E("Username", "Administrator"), E("LogonCount", "1"),
                            E("Password", E("Value", r.BuildPassword), E("PlainText", "true"))),
                        E("FirstLogonCommands", FirstLogonCommands(r).Select((c, i) => Added("SynchronousCommand", null,
                            E("Order", (i + 1).ToString()), E("CommandLine", c.Command), E("Description", c.Description))))))));
    }

    /// <summary>The text of the file, as setup reads it from the root of a CD.</summary>
    public static string ToText(XDocument doc)
    {
        using var writer = new Utf8StringWriter();
        doc.Save(writer);
        return writer.ToString().ReplaceLineEndings("\r\n") + "\r\n";
    }

    private sealed class Utf8StringWriter : StringWriter
    {
        public override System.Text.Encoding Encoding => new System.Text.UTF8Encoding(false);
    }

    /// <summary>The commands the one automatic logon runs, in order.</summary>
    public static IReadOnlyList<(string Command, string Description)> FirstLogonCommands(AnswerFileRequest r)
    {
        // The answer CD's letter is not known in advance: cmd looks for the MSI on each.
        var msi = r.CloudbaseInitMsi;
        if (msi.IndexOfAny(['"', '%', '&', '|', '<', '>', '^', '\\', '/', ':']) >= 0 || !msi.EndsWith(".msi", StringComparison.OrdinalIgnoreCase))
            throw new VfException("CloudbaseInitMsiInvalid", FailureKind.InvalidArgument, $"'{msi}' is not a plain .msi file name.", msi);
        var install = "cmd.exe /c for %d in (" + string.Join(" ", DriveLetters) + ") do if exist %d:\\" + msi +
            " msiexec /i %d:\\" + msi + " /qn /l*v C:\\Windows\\Temp\\cloudbase-init-install.log LOGGINGSERIALPORTNAME=COM1 RUN_SERVICE_AS_LOCAL_SYSTEM=1";
        return
        [
            ("netsh advfirewall firewall add rule name=\"ICMPv4 echo (VirtFleet)\" protocol=icmpv4:8,any dir=in action=allow", "Allow ICMP echo"),
            ("netsh advfirewall firewall add rule name=\"ICMPv6 echo (VirtFleet)\" protocol=icmpv6:128,any dir=in action=allow", "Allow ICMPv6 echo"),
            (install, "Install cloudbase-init"),
            ($"C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /unattend:\"{CloudbaseInitDir}\\conf\\Unattend.xml\"",
                "Generalize and power off"),
        ];
    }

    /// <summary>The driver folders setup is pointed at, for each drive letter the virtio-win CD may have.</summary>
    public static IEnumerable<string> DriverFolders(IEnumerable<string> drivers, WindowsVariant v) =>
        DriveLetters.SelectMany(d => drivers.Select(driver => $"{d}:\\{driver}\\{v.DriverFolder}\\amd64"));

    private static XElement DriverPaths(IEnumerable<string> drivers, WindowsVariant v) =>
        E("DriverPaths", DriverFolders(drivers, v).Select((path, i) => Added("PathAndCredentials", (i + 1).ToString(), E("Path", path))));

    private static XElement[] Partitions(bool uefi)
    {
        if (!uefi)
            return [E("CreatePartitions", Added("CreatePartition", null, E("Order", "1"), E("Type", "Primary"), E("Extend", "true"))),
                E("ModifyPartitions", Added("ModifyPartition", null, E("Order", "1"), E("PartitionID", "1"),
                    E("Format", "NTFS"), E("Label", "Windows"), E("Letter", "C"), E("Active", "true")))];
        return [E("CreatePartitions",
                Added("CreatePartition", null, E("Order", "1"), E("Type", "EFI"), E("Size", "100")),
                Added("CreatePartition", null, E("Order", "2"), E("Type", "MSR"), E("Size", "16")),
                Added("CreatePartition", null, E("Order", "3"), E("Type", "Primary"), E("Extend", "true"))),
            E("ModifyPartitions",
                Added("ModifyPartition", null, E("Order", "1"), E("PartitionID", "1"), E("Format", "FAT32"), E("Label", "System")),
                Added("ModifyPartition", null, E("Order", "2"), E("PartitionID", "2")),
                Added("ModifyPartition", null, E("Order", "3"), E("PartitionID", "3"), E("Format", "NTFS"), E("Label", "Windows"), E("Letter", "C")))];
    }

    private static XElement[] Locales(string locale) =>
        [E("InputLocale", locale), E("SystemLocale", locale), E("UILanguage", locale), E("UserLocale", locale)];

    private static XElement Pass(string name, params XElement[] components) => new(U + "settings", new XAttribute("pass", name), components);

    private static XElement Component(string name, params object?[] content) => new(U + "component",
        new XAttribute("name", name), new XAttribute("processorArchitecture", "amd64"), new XAttribute("publicKeyToken", "31bf3856ad364e35"),
        new XAttribute("language", "neutral"), new XAttribute("versionScope", "nonSxS"), content);

    private static XElement Added(string name, string? key, params object?[] content) =>
        new(U + name, new XAttribute(Wcm + "action", "add"), key is null ? null : new XAttribute(Wcm + "keyValue", key), content);

    private static XElement E(string name, params object?[] content) => new(U + name, content);
}
