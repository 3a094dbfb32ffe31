using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Transport;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>Listing through the long-lived virsh: an unchanged host answers in one request.</summary>
public class InstanceListingTests
{
    /// <summary>Answers virsh requests from a table of domains, as the interactive virsh would; counts requests.</summary>
    private sealed class VirshTable : IRemoteHost
    {
        public Dictionary<string, (string Name, string State)> Domains { get; } = [];
        public int Requests { get; private set; }
        public HostEntry Host { get; } = new() { Name = "h1", Address = "198.51.100.11" };
        public bool VirshReady => true;

        public Task<IReadOnlyList<string>> VirshAsync(IReadOnlyList<string> commands, CancellationToken ct)
        {
            Requests++;
            string[] codes = ["no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended"];
            return Task.FromResult<IReadOnlyList<string>>(commands.Select(c => c.Split(' ') switch
            {
                ["list", "--all", "--uuid", "--name"] => string.Concat(Domains.Select(d => $"{d.Key} {d.Value.Name}\n")) + "\n",
                ["domstats", "--state"] => string.Concat(Domains.Values.Select(d =>
                    $"Domain: '{d.Name}'\n  state.state={Array.IndexOf(codes, d.State)}\n  state.reason=0\n\n")),
                ["dumpxml", var u] => Domains.TryGetValue(u, out var d)
                    ? $"<domain type='qemu'><name>{d.Name}</name><uuid>{u}</uuid><memory unit='KiB'>65536</memory><vcpu>1</vcpu></domain>\n" : "",
                _ => throw new InvalidOperationException(c),
            }).ToList());
        }

        public Task<CommandResult> RunAsync(string script, CancellationToken ct, byte[]? stdin = null, TimeSpan? timeout = null) =>
            throw new InvalidOperationException("the shell is not used while virsh is ready");
        public Task UploadAsync(string localPath, string remotePath, IProgress<long>? progress, CancellationToken ct) =>
            throw new NotSupportedException();
    }

    [Fact]
    public async Task UnchangedHostAnswersInOneRequestAndChangesAreSeen()
    {
        var host = new VirshTable();
        string a = Guid.NewGuid().ToString(), b = Guid.NewGuid().ToString(), c = Guid.NewGuid().ToString();
        host.Domains[a] = ("web-1", "running");
        host.Domains[b] = ("web-2", "shut off");

        var first = await InstanceReader.ReadAsync(host, CancellationToken.None);
        Assert.Equal(["web-1", "web-2"], first.Select(i => i.Name).Order());
        Assert.Equal(2, host.Requests); // the list and states, then the XML of what it found

        var second = await InstanceReader.ReadAsync(host, CancellationToken.None);
        Assert.Equal(3, host.Requests); // the list, the states and the known domains' XML together
        Assert.Equal(InstanceState.Stopped, second.Single(i => i.Name == "web-2").State);

        host.Domains.Remove(a);
        host.Domains[b] = ("web-2", "running");
        host.Domains[c] = ("web-3", "paused");
        var third = await InstanceReader.ReadAsync(host, CancellationToken.None);
        Assert.Equal(5, host.Requests); // one more for the new domain
        Assert.Equal(["web-2", "web-3"], third.Select(i => i.Name).Order());
        Assert.Equal(InstanceState.Running, third.Single(i => i.Name == "web-2").State);
        Assert.Equal(InstanceState.Paused, third.Single(i => i.Name == "web-3").State);
    }

    [Fact]
    public void DomstatsGiveTheStateWordsOfDomstate()
    {
        var states = InstanceReader.ParseDomstats("Domain: 'web-1'\n  state.state=1\n  state.reason=1\n\nDomain: 'it's odd'\n  state.state=5\n  state.reason=0\n\nDomain: 'p'\n  state.state=3\n");
        Assert.Equal("running", states["web-1"]);
        Assert.Equal("shut off", states["it's odd"]);
        Assert.Equal("paused", states["p"]);
    }
}
