using System.Diagnostics;
using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Playbooks;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// A scheduled run that reaches nothing must not report success (issue 13, defect 19): a named inventory that does
/// not exist, a host selection that matches nothing, a host that does not answer.
/// </summary>
public class PlaybookRunTests
{
    private static string Playbook(string yaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"vf-pb-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, yaml);
        return file;
    }

    private static string Missing => Path.Combine(Path.GetTempPath(), $"vf-no-such-{Guid.NewGuid():N}", "inventory.yml");

    /// <summary>Each cmdlet that takes -Inventory, with the least it needs to get as far as reading the inventory.</summary>
    private static readonly Dictionary<string, string> Invocations = new()
    {
        ["Get-VfHost"] = "", ["Set-VfHost"] = "-Name hv1 -Port 2222", ["Remove-VfHost"] = "-Name hv1", ["Disconnect-VfHost"] = "-Name hv1",
        ["Test-VfHost"] = "", ["Get-VfInstance"] = "", ["New-VfInstance"] = "-Image vflinux",
        ["Start-VfInstance"] = "-Name a", ["Stop-VfInstance"] = "-Name a", ["Restart-VfInstance"] = "-Name a",
        ["Suspend-VfInstance"] = "-Name a", ["Resume-VfInstance"] = "-Name a", ["Remove-VfInstance"] = "-Name a",
        ["Get-VfImage"] = "", ["Remove-VfImage"] = "-Name vflinux", ["Get-VfPassword"] = "-Name a", ["Resize-VfInstance"] = "-Name a -DiskGiB 8", ["Test-VfImage"] = "-Name vflinux",
        ["Checkpoint-VfInstance"] = "-Instance a -Name c", ["Get-VfCheckpoint"] = "", ["Restore-VfCheckpoint"] = "-Instance a -Name c -Confirm:$false",
        ["Remove-VfCheckpoint"] = "-Instance a -Name c -Confirm:$false", ["Save-VfImage"] = "-Instance a -Name b", ["Get-VfStorage"] = "",
        ["Remove-VfOrphan"] = "-Confirm:$false",
        ["Get-VfNetwork"] = "", ["New-VfNetwork"] = "-Name n1 -Mode Nat -Subnet 203.0.113.0/28", ["Remove-VfNetwork"] = "-Name n1",
        ["Repair-VfNetwork"] = "", ["Get-VfSecurityGroup"] = "", ["New-VfSecurityGroup"] = "-Name g1", ["Remove-VfSecurityGroup"] = "-Name g1",
        ["Grant-VfNetworkAccess"] = "g1 -Rule 'allow tcp 80 from 0.0.0.0/0'", ["Revoke-VfNetworkAccess"] = "g1 -Rule 'allow tcp 80 from 0.0.0.0/0'",
        ["Get-VfAddress"] = "", ["New-VfAddress"] = "-Address 203.0.113.200", ["Set-VfAddress"] = "-Address 203.0.113.200 -Instance a",
        ["Remove-VfAddress"] = "-Address 203.0.113.200",
        ["Invoke-VfPlaybook"] = "-Path $pb",
        ["Test-VfMigration"] = "-Name a -Destination hv2", ["Move-VfInstance"] = "-Name a -Destination hv2", ["Invoke-VfRebalance"] = "",
        ["New-VfImageBuild"] = "-Iso $pb -OsFamily Linux -DiskGiB 1", ["Get-VfImageBuild"] = "", ["Complete-VfImageBuild"] = "-Name b",
        ["Remove-VfImageBuild"] = "-Name b", ["Get-VfConsoleOutput"] = "-Instance a", ["Connect-VfConsole"] = "-Instance a",
        ["Get-VfEvent"] = "-Timeout 1", ["Wait-VfInstance"] = "-Name a -State Running -Timeout 1", ["Register-VfInstanceEvent"] = "",
    };

    /// <summary>Add-VfHost creates the inventory it names; Import-VfImage reads its image before any host.</summary>
    private static readonly string[] NotCovered = ["Add-VfHost", "Import-VfImage"];

    [Fact]
    public void NamedInventoryThatDoesNotExistIsAnErrorForEveryCmdletTakingIt()
    {
        using var ps = new PowerShellHost();
        var taking = ps.Ok("Get-Command -Module VirtFleet | Where-Object { $_.Parameters.ContainsKey('Inventory') } | ForEach-Object Name")
            .Select(o => o.ToString()!).Where(n => !NotCovered.Contains(n)).Order().ToList();
        Assert.Equal(taking, Invocations.Keys.Order().ToList());
        var vars = new Dictionary<string, object?> { ["inv"] = Missing, ["pb"] = Playbook("name: t\n") };
        foreach (var (command, args) in Invocations)
        {
            var r = ps.Run($"{command} {args} -Inventory $inv", vars);
            Assert.True(r.Errors.Count == 1, $"{command}: {string.Join(" | ", r.Errors.Select(e => e.FullyQualifiedErrorId + " " + e.Exception.Message))}");
            Assert.StartsWith("InventoryNotFound,", r.Errors[0].FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);
            Assert.Contains((string)vars["inv"]!, r.Errors[0].Exception.Message);
        }
        Assert.False(Directory.Exists(Path.GetDirectoryName((string)vars["inv"]!)), "nothing may create the missing inventory");
    }

    [Fact]
    public void InventoryNamedByTheEnvironmentThatDoesNotExistIsAnError()
    {
        var psi = new ProcessStartInfo(Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh"), ["-Command", "Get-VfInstance"])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        var missing = Missing;
        psi.Environment["VIRTFLEET_INVENTORY"] = missing;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains(missing, err.Result);
    }

    [Fact]
    public void HostSelectionThatMatchesNoHostIsAnErrorUnlessThePlaybookAllowsIt()
    {
        HostEntry H(string name, params string[] tags) => new() { Name = name, Address = "198.51.100.1", Tags = [.. tags] };
        var inventory = new[] { H("vfh1", "lab"), H("vfh2") };
        var ex = Assert.Throws<VfException>(() => PlaybookLoader.Parse("name: t\nhosts: ['db*', 'tag:web']\n", "t.yml").SelectHosts(inventory, "/etc/inv.yml"));
        Assert.Equal(("NoHostsSelected", FailureKind.ObjectNotFound), (ex.ErrorId, ex.Kind));
        Assert.Contains("db*, tag:web", ex.Message);
        Assert.Contains("/etc/inv.yml", ex.Message);
        Assert.Contains("allowEmpty", ex.Message);
        // An empty inventory selects nothing either.
        Assert.Equal("NoHostsSelected", Assert.Throws<VfException>(() => PlaybookLoader.Parse("name: t\n", "t.yml").SelectHosts([])).ErrorId);
        Assert.Empty(PlaybookLoader.Parse("name: t\nallowEmpty: true\nhosts: ['db*']\n", "t.yml").SelectHosts(inventory));
        Assert.Contains(PlaybookValidator.Validate("name: t\nallowEmpty: maybe\n", "t.yml"), e => e.ErrorId == "WrongType" && e.Line == 2);
    }

    [Fact]
    public void PlaybookWhoseHostsMatchNothingFailsTheRun()
    {
        using var ps = new PowerShellHost();
        var inv = Path.GetTempFileName();
        var vars = new Dictionary<string, object?>
        {
            ["inv"] = inv, ["pb"] = Playbook("name: nightly\nhosts: ['vhf*']\noperations:\n  - action: suspend\n    select: {tags: [lab]}\n"),
            ["ok"] = Playbook("name: nightly\nallowEmpty: true\nhosts: ['vhf*']\noperations:\n  - action: suspend\n    select: {tags: [lab]}\n"),
        };
        ps.Ok("Add-VfHost vfh1 198.51.100.11 -Inventory $inv", vars);
        var r = ps.Run("Invoke-VfPlaybook $pb -Inventory $inv -Confirm:$false", vars);
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("NoHostsSelected,", e.FullyQualifiedErrorId);
        Assert.DoesNotContain(r.Information, l => l.Contains("No changes"));
        var allowed = ps.Run("Invoke-VfPlaybook $ok -Inventory $inv -Confirm:$false", vars);
        Assert.Empty(allowed.Errors);
        Assert.Contains(allowed.Information, l => l.Contains("No changes."));
    }

    [Fact]
    public void UnreadHostMakesTheRunIncompleteInThePlanTheSummaryTheReportAndTheExitCode()
    {
        // 127.0.0.1:1 refuses at once: the host is selected and does not answer.
        var inv = Path.GetTempFileName();
        var key = Path.Combine(Directory.CreateTempSubdirectory().FullName, "id");
        Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])!.WaitForExit();
        using (var ps = new PowerShellHost())
            ps.Ok("Add-VfHost lo 127.0.0.1 -Port 1 -KeyFile $key -Inventory $inv",
                new Dictionary<string, object?> { ["inv"] = inv, ["key"] = key });
        var pb = Playbook("name: nightly\nhosts: [lo]\noperations:\n  - action: suspend\n    select: {tags: [lab]}\n");
        var report = Path.Combine(Path.GetTempPath(), $"vf-report-{Guid.NewGuid():N}.json");
        var script = Path.Combine(Path.GetTempPath(), $"vf-cron-{Guid.NewGuid():N}.ps1");
        File.WriteAllText(script, $"Invoke-VfPlaybook '{pb}' -Inventory '{inv}' -ConnectTimeout 2 -ReportPath '{report}' -Confirm:$false | Out-Null\n");

        var psi = new ProcessStartInfo(Path.Combine(PowerShellHost.RepoRoot, "out", "vfsh", "vfsh"), ["-File", script])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("incomplete", stderr.Result);
        Assert.DoesNotContain("Nothing to do", stdout);
        Assert.DoesNotContain("No changes.", stdout);
        Assert.Contains("Incomplete: lo did not answer", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(report));
        Assert.True(doc.RootElement.GetProperty("Incomplete").GetBoolean());
        Assert.Equal(["lo"], doc.RootElement.GetProperty("UnreadHosts").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void InstanceIsNotCreatedWhileASelectedHostThatMightHoldItIsUnread()
    {
        var pb = PlaybookLoader.Parse("name: web\nimages: [{name: vflinux}]\ninstances:\n  - namePrefix: web\n    count: 2\n    image: vflinux\n    type: t1.micro\n", "/srv/web.yml");
        var web1 = new Instance { Name = "web-1", Host = "vfh1", State = InstanceState.Running, Image = "vflinux", InstanceType = "t1.micro",
                                  IsVirtFleet = true, Tags = ["playbook:web"] };
        // vfh2 (which holds web-2) is down: web-2 is a problem, never a create on vfh1.
        var fleet = new FleetState { Hosts = ["vfh1"], Unread = ["vfh2"], Instances = [web1], Images = [new FleetImage("vfh1", "vflinux")] };
        var plan = PlaybookPlanner.Plan(pb, fleet);
        Assert.Empty(plan.Steps);
        var problem = Assert.Single(plan.Problems);
        Assert.Equal("web-2", problem.Name);
        Assert.Contains("vfh2 did not answer", problem.Message);
        Assert.True(plan.Incomplete);
        var text = plan.ToDiffText();
        Assert.Contains("Incomplete: vfh2 did not answer", text);
        Assert.DoesNotContain("No changes.", text);
        // Every host answered: the same state plans the create.
        Assert.Equal(["web-2"], PlaybookPlanner.Plan(pb, fleet with { Unread = [] }).Steps.Select(s => s.Name));
    }
    /// <summary>
    /// Networks and public addresses a playbook declares are read back from the hosts' documents (issue 13, defect 4):
    /// a Bridged network (no libvirt network) and an associated address plan nothing on the second run.
    /// </summary>
    [Fact]
    public void DeclaredNetworksAndAddressesAreReadFromTheHostsDocuments()
    {
        var lan = new Networking.VfNetwork("lan", Networking.NetworkMode.Bridged, null, ["vfh1"], false, 1000, "br0");
        var nat = new Networking.VfNetwork("back", Networking.NetworkMode.Nat, System.Net.IPNetwork.Parse("203.0.113.0/24"), ["vfh1"], false, 1001);
        var address = new Networking.PublicAddress("198.51.100.200", "eth0").Associate("web-1", "i-1", "vfh1", "back", "203.0.113.9");
        var docs = new Networking.NetworkStore.HostDocs("vfh1",
            new("vfh1", "v1", Networking.NetworkStore.NetworksToJson([lan, nat], 1)),
            new("vfh1", "v2", Networking.NetworkStore.AddressesToJson([Networking.AddressRange.Parse("198.51.100.200")], [address], 1)),
            new("vfh1", "none", ""));
        var web1 = new Instance { Name = "web-1", Host = "vfh1", State = InstanceState.Running, Image = "vflinux", InstanceType = "t1.micro",
                                  IsVirtFleet = true, Tags = ["playbook:net"], Networks = ["back"] };
        var fleet = FleetStateReader.Assemble([new HostState("vfh1", [web1], ["vflinux"], ["back"], []) { Docs = docs }]);
        Assert.Contains(new FleetNetwork("vfh1", "lan", Networking.NetworkMode.Bridged, null, "br0"), fleet.Networks);
        Assert.Contains(new FleetNetwork("vfh1", "back", Networking.NetworkMode.Nat, "203.0.113.0/24"), fleet.Networks);
        Assert.Equal(2, fleet.Networks.Count);
        Assert.Equal([new FleetAddress("198.51.100.200", "web-1")], fleet.Addresses);

        var pb = PlaybookLoader.Parse("""
            name: net
            images: [{name: vflinux}]
            networks:
              - {name: lan, mode: Bridged, bridge: br0}
              - {name: back, mode: Nat, subnet: 203.0.113.0/24}
            instances: [{name: web-1, image: vflinux, type: t1.micro, network: back}]
            addresses: [{address: 198.51.100.200, instance: web-1}]
            """, "/srv/net.yml");
        var plan = PlaybookPlanner.Plan(pb, fleet);
        Assert.Equal("No changes.", plan.ToDiffText());
    }
}
