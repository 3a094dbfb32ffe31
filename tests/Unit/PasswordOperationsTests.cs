using VirtFleet.Operations;
using VirtFleet.Windows;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>password-read.sh against a fake host: the last block of each named instance's console log, nothing else.</summary>
public sealed class PasswordOperationsTests : IDisposable
{
    private readonly FakeHost _host = new();

    public void Dispose() => _host.Dispose();

    private void Console(string instance, string text)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_host.Store, "instances", instance)).FullName;
        File.WriteAllText(Path.Combine(dir, "console.log"), text);
    }

    [Fact]
    public async Task ReadsTheLastCompleteBlockPerInstanceAndNothingWhereThereIsNone()
    {
        Console("win-1", "SeaBIOS\r\ncloudbase-init: plugins\r\n<Password user=\"Administrator\">\r\nQUFB\r\n</Password>\r\n" +
            "reboot\r\n<Password user=\"Administrator\">\r\nQkJC\r\n</Password>\r\n<Password user=\"x\">\r\nQ0ND\r\n");
        Console("win-2", "booting, no password yet\n");
        var blocks = await PasswordOperations.ReadStep(["win-1", "win-2", "win-3"]).RunAsync(_host, default);
        Assert.Equal(new PasswordData("Administrator", "QkJC"), blocks["win-1"]);
        Assert.Null(blocks["win-2"]);
        Assert.Null(blocks["win-3"]); // no log at all (not started yet, or not a VirtFleet instance)
    }

    /// <summary>A playbook's read of the host carries the encrypted passwords too (its report lists its own instances').</summary>
    [Fact]
    public async Task ThePlaybooksFleetReadCarriesTheEncryptedPasswords()
    {
        Console("win-1", "<Password user=\"Administrator\">\r\nQkJC\r\n</Password>\r\n");
        Console("lx-1", "Linux booting\n");
        var state = await Playbooks.FleetStateReader.ReadStep().RunAsync(_host, default);
        Assert.Equal(new PasswordData("Administrator", "QkJC"), Assert.Single(state.Passwords).Value);
        Assert.Equal("win-1", state.Passwords.Keys.Single());
    }

    [Fact]
    public void HostileNamesNeverReachTheHost() =>
        Assert.Equal("InvalidInstanceName", Assert.Throws<VfException>(() => PasswordOperations.ReadStep(["a;touch /tmp/x"])).ErrorId);
}
