using VirtFleet.HostScripts;
using VirtFleet.Inventory;
using VirtFleet.Model;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Consoles (issue 16 part 4) against a <see cref="FakeHost"/>: the serial log's tail and where VNC listens.</summary>
public sealed class ConsoleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vf-console-").FullName;
    private readonly FakeHost _host = new("hv1");
    private readonly FleetScope _scope;
    private readonly Guid _uuid = Guid.NewGuid();

    public ConsoleTests()
    {
        var inv = HostInventory.Load(Path.Combine(_dir, "inventory.yml"));
        inv.Hosts.Add(_host.Host);
        _scope = new FleetScope(inv, _ => _host, new RecordingReporter());
        _host.AddDomain("web1", _uuid, "running",
            "<domain type='qemu'><name>web1</name><devices><graphics type='vnc' port='5903' autoport='yes' listen='0.0.0.0'>" +
            "<listen type='address' address='0.0.0.0'/></graphics></devices></domain>");
    }

    public void Dispose()
    {
        _host.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Instance Web1(Guid? uuid = null) => new() { Name = "web1", Host = "hv1", Uuid = uuid ?? _uuid, InstanceId = "i-1" };

    [Fact]
    public async Task OutputIsTheLogsBoundedTailWithControlCharactersShownAsText()
    {
        var dir = Path.Combine(_host.Store, "instances", "web1");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "console.log"), "[    0.000000] Linux version 6.1\r\n\u001b[0mlogin: " + new string('x', 100));
        var all = await ConsoleOperations.GetOutputAsync(_scope, Web1(), 1 << 16, default);
        Assert.StartsWith("[    0.000000] Linux version 6.1\n?[0mlogin: ", all.Output);
        Assert.False(all.Truncated);
        var tail = await ConsoleOperations.GetOutputAsync(_scope, Web1(), 10, default);
        Assert.Equal(new string('x', 10), tail.Output);
        Assert.True(tail.Truncated);
        Assert.Equal(all.Length, tail.Length);
    }

    [Fact]
    public async Task AnotherDomainUnderTheNameOrNoLogIsASpecificError()
    {
        var changed = await Assert.ThrowsAsync<VfException>(() => ConsoleOperations.GetOutputAsync(_scope, Web1(Guid.NewGuid()), 100, default));
        Assert.Equal("InstanceChanged", changed.ErrorId);
        var none = await Assert.ThrowsAsync<VfException>(() => ConsoleOperations.GetOutputAsync(_scope, Web1(), 100, default));
        Assert.Equal("ConsoleUnavailable", none.ErrorId);
    }

    [Fact]
    public async Task VncIsFoundInTheLiveXmlAndAStoppedGuestHasNone()
    {
        var r = await HostScript.Load("console-vnc").Set("name", "web1").Set("uuid", _uuid.ToString()).RunAsync(_host, default);
        Assert.Equal(["0.0.0.0 5903"], r.Lines("RESULT"));
        // The fake transport cannot forward: the operation gets as far as asking it to.
        await Assert.ThrowsAsync<NotSupportedException>(() => ConsoleOperations.ConnectAsync(_scope, Web1(), default));
        _host.AddDomain("web1", _uuid, "shut off", "<domain><name>web1</name></domain>");
        var off = await Assert.ThrowsAsync<VfException>(() => ConsoleOperations.ConnectAsync(_scope, Web1(), default));
        Assert.Equal("ConsoleUnavailable", off.ErrorId);
    }
}
