using System.Management.Automation;
using System.Text.Json;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>The example playbooks on a 3-host lab: apply, re-apply (no changes), -WhatIf diff, interrupted apply.</summary>
[Collection("lab3")]
public class PlaybookLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private static string Example(string name) => Path.Combine(PowerShellHost.RepoRoot, "playbooks", name);

    public PlaybookLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        _ = GuestImages.Dir; // the examples import from the guest cache
        Environment.SetEnvironmentVariable("VIRTFLEET_KEYPAIRS", Path.Combine(Path.GetTempPath(), $"vf-pb-keys-{Guid.NewGuid():N}"));
        _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");
    }

    public void Dispose() => _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");

    private PowerShellHost.Result Apply(string path, string extra = "") =>
        _lab.Shell.Run($"Invoke-VfPlaybook '{path}' -Confirm:$false {extra}");

    private static PSObject Summary(PowerShellHost.Result r) => r.Output.Last();

    private List<Instance> Instances() => _lab.Shell.Ok("Get-VfInstance").Select(o => (Instance)o.BaseObject).ToList();

    [Fact]
    public void WindowsLabAppliesThenReappliesWithNoChangesThenCleanupPrunes()
    {
        var first = Apply(Example("windows-lab.yml"));
        Assert.Empty(first.Errors);
        Assert.True((bool)Summary(first).Properties["Changed"].Value);
        var instances = Instances();
        Assert.Equal(["lx-1", "lx-2", "win-1", "win-2", "win-3"], instances.Select(i => i.Name).Order());
        Assert.All(instances, i => Assert.Contains("playbook:windows-lab", i.Tags));

        var report = Path.Combine(Path.GetTempPath(), $"vf-report-{Guid.NewGuid():N}.json");
        var second = Apply(Example("windows-lab.yml"), $"-ReportPath '{report}'");
        Assert.Empty(second.Errors);
        Assert.Contains(second.Information, l => l.Contains("No changes."));
        Assert.False((bool)Summary(second).Properties["Changed"].Value);
        using (var doc = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.Equal(0, doc.RootElement.GetProperty("Planned").GetInt32());
            Assert.Equal(0, doc.RootElement.GetProperty("Failed").GetInt32());
        }

        var chains = string.Join('\n', _lab.Status.Hosts.Select(h => _lab.InHost(h.Name, "iptables-save -t filter").Out));
        Assert.Contains(":VF-I-", chains);

        var cleanup = Apply(Example("cleanup.yml"));
        Assert.Empty(cleanup.Errors);
        Assert.Empty(Instances());
        // Pruned like Remove-VfInstance removes: the instances' firewall chains went with them.
        foreach (var h in _lab.Status.Hosts)
            Assert.DoesNotContain(":VF-I-", _lab.InHost(h.Name, "iptables-save -t filter").Out);
    }

    /// <summary>Every shipped example, in the order a user would run them: applies, then applies again with "No changes.".</summary>
    [Fact]
    public void EveryExamplePlaybookAppliesTwiceTheSecondTimeWithNoChanges()
    {
        string[] order = ["windows-lab.yml", "web-tier.yml", "nightly-suspend.yml", "morning-resume.yml", "cleanup.yml"];
        Assert.Equal(Directory.GetFiles(Path.Combine(PowerShellHost.RepoRoot, "playbooks"), "*.yml").Select(Path.GetFileName).Order(), order.Order());
        try
        {
            foreach (var name in order)
            {
                var first = Apply(Example(name));
                Assert.True(first.Errors.Count == 0, $"{name}, first apply:\n" + string.Join("\n", first.Information.Concat(first.Errors.Select(e => e.ToString()))));
                var second = Apply(Example(name));
                Assert.True(second.Errors.Count == 0, $"{name}, second apply:\n" + string.Join("\n", second.Errors));
                Assert.True(second.Information.Any(l => l.Contains("No changes.")), $"{name}, second apply:\n" + string.Join("\n", second.Information));
                if (name == "web-tier.yml")
                {
                    // The public address it declares is on web-1's host, forwarded to web-1.
                    var address = (Networking.PublicAddress)_lab.Shell.Ok("Get-VfAddress 198.51.100.200").Single().BaseObject;
                    Assert.Equal("web-1", address.Instance);
                    Assert.Equal(Instances().Single(i => i.Name == "web-1").Host, address.Host);
                }
            }
        }
        finally
        {
            _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false; Remove-VfAddress 198.51.100.200 -Confirm:$false");
        }
    }

    [Fact]
    public void NightlySuspendAndMorningResumeConverge()
    {
        Assert.Empty(Apply(Example("windows-lab.yml")).Errors);
        var suspend = Apply(Example("nightly-suspend.yml"));
        Assert.Empty(suspend.Errors);
        Assert.All(Instances(), i => Assert.Equal(InstanceState.Paused, i.State));
        Assert.Contains(Apply(Example("nightly-suspend.yml")).Information, l => l.Contains("No changes."));
        Assert.Empty(Apply(Example("morning-resume.yml")).Errors);
        Assert.All(Instances(), i => Assert.Equal(InstanceState.Running, i.State));
        Assert.Contains(Apply(Example("morning-resume.yml")).Information, l => l.Contains("No changes."));
    }

    [Fact]
    public void WhatIfShowsExactlyTheDiffAndTouchesNothing()
    {
        Assert.Empty(Apply(Example("windows-lab.yml")).Errors);
        var changed = Path.Combine(Path.GetTempPath(), $"vf-pb-{Guid.NewGuid():N}.yml");
        File.WriteAllText(changed, File.ReadAllText(Example("windows-lab.yml")).Replace("count: 2", "count: 3")
            .Replace("${guests}", GuestImages.Dir));
        var before = Instances().Select(i => (i.Name, i.State)).Order().ToList();
        var r = _lab.Shell.Run($"Invoke-VfPlaybook '{changed}' -WhatIf");
        Assert.Empty(r.Errors);
        var diff = r.Information.Where(l => l.StartsWith("  +") || l.StartsWith("  ~") || l.StartsWith("  -")).ToList();
        Assert.Equal(["  + instance lx-3 (image vflinux, t1.micro, network vflab)"], diff);
        Assert.Equal(before, Instances().Select(i => (i.Name, i.State)).Order().ToList());
    }

    [Fact]
    public void TypoIsRejectedWithLineAndColumn()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"vf-pb-{Guid.NewGuid():N}.yml");
        File.WriteAllText(bad, "name: typo\ninstances:\n  - name: a\n    imgae: vflinux\n");
        var r = _lab.Shell.Run($"Test-VfPlaybook '{bad}'");
        Assert.False((bool)r.Output.Single().BaseObject);
        Assert.Contains(r.Errors, e => e.Exception.Message.Contains(":4:5:") && e.Exception.Message.Contains("'image'"));
        var apply = _lab.Shell.Run($"Invoke-VfPlaybook '{bad}' -Confirm:$false");
        Assert.NotEmpty(apply.Errors);
        Assert.Empty(Instances());
    }

    [Fact]
    public void InterruptedApplyConvergesOnTheNextRun()
    {
        // The SSH session of the create drops right after a domain is defined, on one host.
        using (_lab.DropSessionAfter("vfh2", "virsh", "define"))
        {
            var first = Apply(Example("windows-lab.yml"));
            Assert.NotEmpty(first.Errors);
        }
        var second = Apply(Example("windows-lab.yml"));
        Assert.Empty(second.Errors);
        var names = Instances().Select(i => i.Name).Order().ToList();
        Assert.Equal(["lx-1", "lx-2", "win-1", "win-2", "win-3"], names);
        // No orphans: every instance folder on every host belongs to a listed instance.
        foreach (var h in _lab.Status.Hosts)
        {
            var dirs = _lab.InHost(h.Name, "ls -A /var/lib/libvirt/virtfleet/instances 2>/dev/null").Out
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(dirs, d => Assert.Contains(d, names));
        }
        Assert.Contains(Apply(Example("windows-lab.yml")).Information, l => l.Contains("No changes."));
    }
}
