using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Issue 17 on real hosts: vfwin, the project's stand-in for a Windows guest (build-guest.sh: it boots from its SATA root disk
/// through SeaBIOS and syslinux, reads the config drive and runs a first-boot agent in the Windows script's wire format),
/// runs beside a Linux guest on one host on exactly what the Windows profile gives; its password comes back through
/// Get-VfPassword with its key pair only, and the host never holds it in clear.
/// </summary>
[Collection("lab3")]
public class WindowsGuestLabTests
{
    private readonly ThreeHostLab _lab;
    private static readonly string Keys = Path.Combine(Path.GetTempPath(), "vf-lab-keypairs");

    public WindowsGuestLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        Environment.SetEnvironmentVariable("VIRTFLEET_KEYPAIRS", Keys);
        _lab.Shell.Ok("if (-not (Get-VfImage vfwin)) { Import-VfImage -Path $w | Out-Null }; if (-not (Get-VfImage vflinux)) { Import-VfImage -Path $l | Out-Null }",
            new Dictionary<string, object?> { ["w"] = GuestImages.WindowsGuest, ["l"] = GuestImages.Linux });
    }

    private Instance New(string script) => (Instance)Assert.Single(_lab.Shell.Ok(script)).BaseObject;

    [Fact]
    public void AWindowsProfileGuestRunsBesideLinuxAndItsPasswordOpensWithItsKeyPairOnly()
    {
        _lab.Shell.Ok("New-VfKeyPair winkey -KeyType Rsa -Force | Out-Null; New-VfKeyPair otherkey -KeyType Rsa -Force | Out-Null");
        try
        {
            var win = New("New-VfInstance -Image vfwin -Name vfw1 -KeyPair winkey -Network vflab -Host vfh1 -Wait -WaitTimeout 300");
            var lin = New("New-VfInstance -Image vflinux -Name vfl1 -InstanceType t1.micro -Network vflab -Host vfh1 -Wait -WaitTimeout 120");
            Assert.Equal(win.Host, lin.Host);
            Assert.All(new[] { win, lin }, i => Assert.Equal(InstanceState.Running, i.State));

            // The live domain: the Windows profile's devices, booted from the disk (no kernel given).
            var xml = XElement.Parse(_lab.InHost(win.Host, "virsh dumpxml vfw1").Out);
            var devices = xml.Element("devices")!;
            Assert.Null(xml.Element("os")!.Element("kernel"));
            Assert.Equal("localtime", xml.Element("clock")!.Attribute("offset")!.Value);
            Assert.Equal("sata", devices.Elements("disk").First(d => (string)d.Attribute("device")! == "disk").Element("target")!.Attribute("bus")!.Value);
            Assert.Equal("e1000", devices.Element("interface")!.Element("model")!.Attribute("type")!.Value);
            Assert.Contains(devices.Elements("input"), i => (string)i.Attribute("type")! == "tablet" && (string)i.Attribute("bus")! == "usb");
            Assert.Equal("vnc", devices.Element("graphics")!.Attribute("type")!.Value);

            // From inside the guest: e1000, a SATA (ata) root disk and the config drive, its RTC on the host's local time.
            var address = Assert.Single(win.Addresses);
            var (code, page) = LabFixture.Sh($"timeout 60 sh -c 'until curl -sf --max-time 3 http://{address}/; do sleep 1; done'", 90);
            Assert.True(code == 0, page);
            Assert.Contains("hostname=vfw1 ", page);
            Assert.Contains($"instance-id={win.InstanceId} ", page);
            Assert.Contains("driver=e1000 ", page);
            Assert.Contains("mode=windows", page);
            Assert.Matches(@"disk sda ata\d+", page);
            Assert.Matches(@"disk sr0 ata\d+", page);
            Assert.Contains("seed=/dev/sr0", page);
            var rtc = DateTime.ParseExact(Regex.Match(page, @"rtc=(\S+)").Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
            var hostLocal = DateTime.Parse(_lab.InHost(win.Host, "date +%Y-%m-%dT%H:%M:%S").Out.Trim(), CultureInfo.InvariantCulture);
            Assert.True(Math.Abs((rtc - hostLocal).TotalMinutes) < 10, $"guest RTC {rtc:s}, host local time {hostLocal:s}");

            // The password: decrypted here with the key pair; refused with another key; not a Linux thing.
            var password = Assert.Single(_lab.Shell.Ok("Get-VfPassword vfw1 -Wait -WaitTimeout 120 -AsPlainText")).ToString()!;
            Assert.Matches("^[A-Za-z0-9]{8,16}Vf7!$", password);
            var cred = (System.Management.Automation.PSCredential)Assert.Single(_lab.Shell.Ok("Get-VfPassword vfw1")).Properties["Credential"].Value;
            Assert.Equal("Administrator", cred.UserName);
            Assert.Equal(password, cred.GetNetworkCredential().Password);
            var wrong = _lab.Shell.Run("Get-VfPassword vfw1 -KeyFile $k", new Dictionary<string, object?> { ["k"] = Path.Combine(Keys, "otherkey") });
            Assert.Contains(wrong.Errors, e => e.FullyQualifiedErrorId.StartsWith("PasswordKeyMismatch"));
            Assert.Contains(_lab.Shell.Run("Get-VfPassword vfl1").Errors, e => e.FullyQualifiedErrorId.StartsWith("PasswordNotWindows"));

            // The host has the ciphertext on the console log and the password nowhere.
            Assert.Contains("<Password user=", _lab.InHost(win.Host, "cat /var/lib/libvirt/virtfleet/instances/vfw1/console.log").Out);
            var clear = _lab.InHost(win.Host, $"grep -rlF -e '{password}' /var/lib/libvirt /var/log/libvirt /etc/libvirt /run /root 2>/dev/null");
            Assert.True(clear.Out.Trim().Length == 0, "the password in clear on the host: " + clear.Out);
        }
        finally
        {
            _lab.Shell.Run("Remove-VfInstance vfw1, vfl1 -Confirm:$false");
        }
    }
}
