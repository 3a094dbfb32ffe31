using System.Text.Json;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Where a playbook and New-VfInstance may create (issue 13, defects 5 and 6): a playbook's host selection bounds every
/// step, and an instance name is unique across the inventory, also while a host that might hold it does not answer.
/// </summary>
[Collection("lab3")]
public class PlaybookBoundsLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;

    public PlaybookBoundsLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");
    }

    public void Dispose() => _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");

    private List<Instance> Instances() => _lab.Shell.Ok("Get-VfInstance").Select(o => (Instance)o.BaseObject).ToList();

    private static string Playbook(string yaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"vf-pb-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, yaml.Replace("GUESTS", GuestImages.Dir));
        return file;
    }

    /// <summary>Makes a host stop answering on SSH (its pooled connection closed first) until the returned action runs.</summary>
    private Action Down(string host)
    {
        _lab.Shell.Ok("Disconnect-VfHost");
        Assert.Equal(0, _lab.InHost(host, "iptables -I INPUT -p tcp --dport 22 -j DROP").Code);
        return () =>
        {
            _lab.InHost(host, "iptables -D INPUT -p tcp --dport 22 -j DROP");
            _lab.Shell.Run("Disconnect-VfHost");
        };
    }

    [Fact]
    public void PlaybookCreatesOnlyOnTheHostsItSelects()
    {
        _lab.Shell.Ok("Set-VfHost -Name vfh1 -Tag lab, web -Confirm:$false; Set-VfHost -Name vfh2 -Tag lab, web -Confirm:$false");
        try
        {
            var pb = Playbook("""
                name: bounds
                hosts: ["tag:web"]
                images:
                  - name: vflinux
                    path: GUESTS/vflinux
                instances:
                  - namePrefix: tw
                    count: 4
                    image: vflinux
                    type: t1.micro
                    placement: RoundRobin
                """);
            var r = _lab.Shell.Run($"Invoke-VfPlaybook '{pb}' -Confirm:$false");
            Assert.Empty(r.Errors);
            var made = Instances().Where(i => i.Name.StartsWith("tw-")).ToList();
            Assert.Equal(["tw-1", "tw-2", "tw-3", "tw-4"], made.Select(i => i.Name).Order());
            Assert.All(made, i => Assert.Contains(i.Host, new[] { "vfh1", "vfh2" }));
        }
        finally
        {
            _lab.Shell.Run("Set-VfHost -Name vfh1 -Tag lab -Confirm:$false; Set-VfHost -Name vfh2 -Tag lab -Confirm:$false");
        }
    }

    [Fact]
    public void InstanceNameIsUniqueAcrossTheInventory()
    {
        _lab.Shell.Ok($"Import-VfImage -Path '{GuestImages.Linux}'");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name uq-1 -InstanceType t1.micro -Host vfh1");
        var again = _lab.Shell.Run("New-VfInstance -Image vflinux -Name uq-1 -InstanceType t1.micro -Host vfh2");
        var e = Assert.Single(again.Errors);
        Assert.StartsWith("InstanceNameTaken,", e.FullyQualifiedErrorId);
        Assert.Contains("vfh1", e.Exception.Message);
        Assert.Equal(["vfh1"], Instances().Where(i => i.Name == "uq-1").Select(i => i.Host));

        // A host that might hold the name does not answer: refused, nothing created anywhere.
        var up = Down("vfh3");
        try
        {
            var r = _lab.Shell.Run("New-VfInstance -Image vflinux -Name uq-2 -InstanceType t1.micro -Host vfh1 -ConnectTimeout 3");
            var refused = Assert.Single(r.Errors, x => x.FullyQualifiedErrorId.StartsWith("InstanceNameUnverified,"));
            Assert.Contains("vfh3", refused.Exception.Message);
            Assert.Empty(r.Output);
        }
        finally { up(); }
        Assert.DoesNotContain(Instances(), i => i.Name == "uq-2");
    }

    [Fact]
    public void PlaybookReRunWithTheHostOfItsInstanceDownCreatesNothingElsewhere()
    {
        var pb = Playbook("""
            name: rerun
            hosts: ["vfh*"]
            images:
              - name: vflinux
                path: GUESTS/vflinux
            instances:
              - name: rr-1
                image: vflinux
                type: t1.micro
            """);
        Assert.Empty(_lab.Shell.Run($"Invoke-VfPlaybook '{pb}' -Confirm:$false").Errors);
        var holder = Instances().Single(i => i.Name == "rr-1").Host;

        var report = Path.Combine(Path.GetTempPath(), $"vf-report-{Guid.NewGuid():N}.json");
        var up = Down(holder);
        PowerShellHost.Result r;
        try { r = _lab.Shell.Run($"Invoke-VfPlaybook '{pb}' -ConnectTimeout 3 -ReportPath '{report}' -Confirm:$false"); }
        finally { up(); }
        Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("PlaybookIncomplete,") && e.Exception.Message.Contains(holder));
        Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("PlaybookPlanProblem,") && e.Exception.Message.Contains("rr-1"));
        Assert.Contains(r.Information, l => l.Contains($"Incomplete: {holder} did not answer"));
        Assert.DoesNotContain(r.Information, l => l.Contains("No changes.") || l.Contains("Nothing to do"));
        using (var doc = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.True(doc.RootElement.GetProperty("Incomplete").GetBoolean());
            Assert.Equal([holder], doc.RootElement.GetProperty("UnreadHosts").EnumerateArray().Select(x => x.GetString()));
        }
        Assert.Equal([holder], Instances().Where(i => i.Name == "rr-1").Select(i => i.Host));
    }
    [Fact]
    public void StepsRunThroughCoreOperationsInTheRunsOwnScopeNotThroughNestedCmdlets()
    {
        // A function of the cmdlet's name would catch a nested call (the playbook used to run New-VfInstance inside itself):
        // the steps are Core operations on the run's own scope now, so it is never called and the instance is still made,
        // on the playbook's one host.
        _lab.Shell.Ok("""
            function global:New-VfInstance { $global:vfNested = @{} + $PSBoundParameters }
            """);
        try
        {
            var pb = Playbook("""
                name: carry
                hosts: [vfh2]
                images:
                  - name: vflinux
                    path: GUESTS/vflinux
                instances:
                  - name: cr-1
                    image: vflinux
                    type: t1.micro
                """);
            var r = _lab.Shell.Run($"Invoke-VfPlaybook '{pb}' -ConnectTimeout 7 -OperationTimeout 123 -ThrottleLimit 5 -Confirm:$false");
            Assert.True(r.Errors.Count == 0, string.Join("\n", r.Errors));
            Assert.Equal("True", _lab.Shell.Ok("$null -eq $global:vfNested").Single().ToString());
            Assert.Equal(["vfh2"], Instances().Where(i => i.Name == "cr-1").Select(i => i.Host));
        }
        finally
        {
            // Engine calls only: the tests' in-process PowerShell has no Remove-Item, and a shadow left behind breaks every later
            // test of the lab's collection that calls New-VfInstance.
            _lab.Shell.Ok("if (${function:New-VfInstance}) { $ExecutionContext.InvokeProvider.Item.Remove('function:New-VfInstance', $false) }; $global:vfNested = $null");
            Assert.Equal("Cmdlet", _lab.Shell.Ok("(Get-Command New-VfInstance).CommandType").Single().ToString());
        }
    }
}
