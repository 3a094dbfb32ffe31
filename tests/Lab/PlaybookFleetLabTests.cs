using System.Diagnostics;
using VirtFleet.Model;
using VirtFleet.Networking;
using Xunit;
using Xunit.Abstractions;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Issue 14's Done-when on the 3-host lab: one playbook declares from nothing a spanning network, a security group with
/// rules, 4 Linux and 2 Windows instances on the hosts chosen by tag, and a public address on one Linux instance. It
/// applies; the instance's page answers through the public address; the second apply prints "No changes."; a copy narrowed
/// to one host creates nothing outside it; a changed rule re-applies only the firewall; tags and type change in place;
/// removing a block and applying with -Prune removes exactly that block. Addresses: the network 203.0.113.224/28, the public address 203.0.113.219 (the lab's
/// public range, with a /32 route on the lab bridge as NetworkLabTests makes).
/// </summary>
[Collection("lab3")]
public class PlaybookFleetLabTests : IDisposable
{
    private const string Public = "203.0.113.219";
    private readonly ThreeHostLab _lab;
    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("vf-pbf-").FullName;

    public PlaybookFleetLabTests(ThreeHostLab lab, ITestOutputHelper output)
    {
        _lab = lab;
        _out = output;
        _ = GuestImages.Dir;
        Environment.SetEnvironmentVariable("VIRTFLEET_KEYPAIRS", Path.Combine(_dir, "keys"));
        Cleanup();
    }

    public void Dispose()
    {
        Cleanup();
        _lab.Shell.Run("foreach ($h in 'vfh1', 'vfh2', 'vfh3') { Set-VfHost -Name $h -Tag lab -Confirm:$false }");
        LabFixture.Sh($"ip route del {Public}/32 dev vflab0");
    }

    private void Cleanup()
    {
        _lab.Shell.Run("Get-VfInstance pbf-* | Remove-VfInstance -Confirm:$false");
        _lab.Shell.Run($"Get-VfAddress {Public} | Remove-VfAddress -Confirm:$false");
        _lab.Shell.Run("Get-VfSecurityGroup pbf-* | Remove-VfSecurityGroup -Confirm:$false");
        _lab.Shell.Run("Get-VfNetwork pbf-* | Remove-VfNetwork -Confirm:$false");
    }

    private const string Declared = """
        name: pbf-fleet
        hosts: ["tag:pbf"]
        images:
          - name: vflinux
            path: GUESTS/vflinux
          - name: win2008
            path: GUESTS/win2008
        networks:
          - name: pbf-net
            mode: Nat
            subnet: 203.0.113.224/28
            span: true
        securityGroups:
          - name: pbf-web
            rules:
              - allow tcp 80 from 0.0.0.0/0
              - allow icmp from 198.51.100.0/24
        instances:
          - namePrefix: pbf-lx
            count: 4
            image: vflinux
            type: t1.micro
            network: pbf-net
            groups: [pbf-web]
            placement: RoundRobin
            tags: [linux]
          - namePrefix: pbf-win
            count: 2
            image: win2008
            type: m1.small
            network: pbf-net
            groups: [pbf-web]
            placement: RoundRobin
            tags: [windows]
        addresses:
          - address: 203.0.113.219
            instance: pbf-lx-1
        """;

    private string Write(string name, string yaml)
    {
        var file = Path.Combine(_dir, name);
        File.WriteAllText(file, yaml.Replace("GUESTS", GuestImages.Dir));
        return file;
    }

    private PowerShellHost.Result Apply(string file, string extra = "")
    {
        var watch = Stopwatch.StartNew();
        var r = _lab.Shell.Run($"Invoke-VfPlaybook '{file}' -Confirm:$false {extra}");
        _out.WriteLine($"--- {Path.GetFileName(file)} {extra} ({watch.Elapsed.TotalSeconds:F0} s)\n" + string.Join("\n", r.Information) +
                       string.Concat(r.Errors.Select(e => "\nERROR " + e)));
        return r;
    }

    private List<Instance> Instances() =>
        _lab.Shell.Ok("Get-VfInstance pbf-*").Select(o => (Instance)o.BaseObject).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();

    private static List<string> Snapshot(IEnumerable<Instance> list) => list.Select(i => $"{i.Name}@{i.Host}#{i.InstanceId}:{i.State}").ToList();

    private static string? Page(string address)
    {
        LabFixture.Sh($"ip neigh flush to {address}");
        var (code, page) = LabFixture.Sh($"curl -s --max-time 4 http://{address}/cloud.txt");
        return code == 0 ? page : null;
    }

    [Fact]
    public void OnePlaybookDeclaresTheFleetFromNothingAndConvergesNarrowsChangesAndPrunes()
    {
        _lab.Shell.Ok("foreach ($h in 'vfh1', 'vfh2', 'vfh3') { Set-VfHost -Name $h -Tag lab, pbf -Confirm:$false }");
        LabFixture.Sh($"ip route replace {Public}/32 dev vflab0");
        var file = Write("fleet.yml", Declared);

        // 1. From nothing: everything is created, on the tagged hosts.
        var first = Apply(file);
        Assert.True(first.Errors.Count == 0, string.Join("\n", first.Errors));
        Assert.Contains(first.Information, l => l.Contains("+ network pbf-net (on vfh1, vfh2, vfh3: Nat 203.0.113.224/28, span)"));
        var made = Instances();
        Assert.Equal(["pbf-lx-1", "pbf-lx-2", "pbf-lx-3", "pbf-lx-4", "pbf-win-1", "pbf-win-2"], made.Select(i => i.Name));
        Assert.All(made, i => Assert.Equal(new InstanceOwner("pbf-fleet", "pbf-fleet"), i.Owner));
        Assert.Equal(3, made.Select(i => i.Host).Distinct().Count());
        Assert.All(made.Where(i => i.Name.StartsWith("pbf-win")), i => Assert.Equal("windows", i.OsFamily));
        var net = (VfNetwork)_lab.Shell.Ok("Get-VfNetwork pbf-net").Single().BaseObject;
        Assert.True(net.Span);
        Assert.Equal(["vfh1", "vfh2", "vfh3"], net.Hosts.Order());
        var address = (PublicAddress)_lab.Shell.Ok($"Get-VfAddress {Public}").Single().BaseObject;
        Assert.Equal(("pbf-lx-1", made[0].Host), (address.Instance, address.Host));

        // 2. The instance's page answers through the public address (the group lets tcp 80 in).
        string? page = null;
        for (var until = DateTime.UtcNow.AddSeconds(150); DateTime.UtcNow < until && page is null; Thread.Sleep(1000)) page = Page(Public);
        Assert.Contains("hostname=pbf-lx-1", page);

        // 3. The second apply changes nothing and says so.
        var second = Apply(file);
        Assert.Empty(second.Errors);
        Assert.Contains("No changes.", second.Information);
        Assert.False((bool)second.Output.Last().Properties["Changed"].Value);
        var converged = Snapshot(Instances());

        // 4. A copy narrowed to one host: what lives elsewhere is left there, its own new instance lands on that host only,
        //    and nothing on the other hosts changes.
        var copy = Write("copy.yml", Declared.Replace("name: pbf-fleet", "name: pbf-copy")
            .Replace("addresses:", "  - name: pbf-one\n    image: vflinux\n    type: t1.micro\n    network: pbf-net\n    tags: [linux]\naddresses:"));
        var narrowed = Apply(copy, "-Host vfh1");
        Assert.True(narrowed.Errors.Count == 0, string.Join("\n", narrowed.Errors));
        Assert.Contains(narrowed.Information, l => l.Contains("# outside the selected hosts, left alone"));
        Assert.Contains(narrowed.Information, l => l.Contains("+ instance pbf-one"));
        var afterCopy = Instances();
        Assert.Equal("vfh1", afterCopy.Single(i => i.Name == "pbf-one").Host);
        Assert.Equal(converged, Snapshot(afterCopy.Where(i => i.Name != "pbf-one")));

        // 5. A changed rule: one step, the group; the instances stay as they are and the hosts' firewalls carry the new rule.
        var changed = Write("fleet.yml", Declared.Replace("allow icmp from 198.51.100.0/24", "allow tcp 8080 from 198.51.100.0/24"));
        var ruled = Apply(changed);
        Assert.Empty(ruled.Errors);
        var steps = ruled.Output.Take(ruled.Output.Count - 1).Select(o => o.Properties["Resource"].Value.ToString()).ToList();
        Assert.Equal(["SecurityGroup"], steps);
        Assert.Contains("  ~ security group pbf-web: +allow tcp 8080 from 198.51.100.0/24; -allow icmp from 198.51.100.0/24 (on vfh1, vfh2, vfh3)", ruled.Information);
        Assert.Equal(Snapshot(afterCopy), Snapshot(Instances()));
        foreach (var h in _lab.Status.Hosts)
            Assert.Contains("--dport 8080", _lab.InHost(h.Name, "iptables-save -t filter").Out);
        Assert.Contains("hostname=pbf-lx-1", Page(Public));

        // 5b. Tags and type of existing instances change in place: the same instances (ids), the Linux ones untouched but for
        //     their metadata, the Windows ones stopped for their new type and started again.
        var inPlace = Write("fleet.yml", File.ReadAllText(changed).Replace("    tags: [linux]", "    tags: [linux, web]").Replace("type: m1.small", "type: m1.medium"));
        var updated = Apply(inPlace);
        Assert.True(updated.Errors.Count == 0, string.Join("\n", updated.Errors));
        Assert.Equal(["~ instance pbf-lx-1: tags +web", "~ instance pbf-lx-2: tags +web", "~ instance pbf-lx-3: tags +web", "~ instance pbf-lx-4: tags +web",
                      "~ instance pbf-win-1: type m1.small -> m1.medium (stopped and started again)",
                      "~ instance pbf-win-2: type m1.small -> m1.medium (stopped and started again)"],
            updated.Information.Where(l => l.StartsWith("  ")).Select(l => l.Trim()).Where(l => !l.StartsWith('#')));
        var medium = InstanceType.Find("m1.medium");
        var nowInstances = Instances();
        Assert.Equal(Snapshot(afterCopy), Snapshot(nowInstances));
        Assert.All(nowInstances.Where(i => i.Name.StartsWith("pbf-lx")), i => Assert.Contains("web", i.Tags));
        Assert.All(nowInstances.Where(i => i.Name.StartsWith("pbf-win")), i =>
            Assert.Equal(("m1.medium", (long)medium.MemoryMiB, medium.Vcpus), (i.InstanceType, i.MemoryMiB, i.Vcpus)));
        Assert.Contains("No changes.", Apply(inPlace).Information);

        // 6. The Windows block removed, applied with -Prune: exactly its two instances go (pbf-copy's instance is not this playbook's).
        var text = File.ReadAllText(inPlace);
        var smaller = Write("fleet.yml", text[..text.IndexOf("  - namePrefix: pbf-win")] + text[text.IndexOf("addresses:")..]);
        var pruned = Apply(smaller, "-Prune");
        Assert.Empty(pruned.Errors);
        Assert.Equal(["- instance pbf-win-1 (prune)", "- instance pbf-win-2 (prune)"],
            pruned.Information.Where(l => l.StartsWith("  -")).Select(l => l.Trim()));
        Assert.Equal(Snapshot(afterCopy.Where(i => !i.Name.StartsWith("pbf-win"))), Snapshot(Instances()));
        Assert.Contains("No changes.", Apply(smaller, "-Prune").Information);
    }
}
