using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Operations;
using VirtFleet.Playbooks;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// ApplyPlaybook (the executor under Invoke-VfPlaybook) against fake hosts: it reads, plans and applies through the Core
/// operations, stays on the playbook's hosts, prunes only what carries its owner record, and a host that does not answer
/// makes the run incomplete instead of a create elsewhere.
/// </summary>
public class PlaybookExecutorTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static Playbook Parse(string yaml) => PlaybookLoader.Parse(yaml, "/srv/pb/test.yml");

    private static ApplyPlaybookRequest Request(Playbook pb, OperationsFakeFleet fleet, bool? prune = null, params string[] hosts) => new()
    {
        Playbook = pb, Prune = prune, Profiles = OsProfileCatalog.Parse(""),
        Hosts = hosts.Length == 0 ? fleet.Inventory.Hosts : fleet.Inventory.Hosts.Where(h => hosts.Contains(h.Name)).ToList(),
    };

    private static async Task<(PlaybookSummary Summary, Plan Plan)> Run(OperationsFakeFleet fleet, ApplyPlaybookRequest request)
    {
        Plan? plan = null;
        var summary = await ApplyPlaybook.RunAsync(fleet.Scope, request, None, (p, _) => plan = p);
        return (summary, plan!);
    }

    private const string Web = "name: web\nimages: [{name: vflinux}]\ninstances: [{namePrefix: web, count: 2, image: vflinux, type: t1.micro, tags: [web]}]\n";

    [Fact]
    public async Task FleetThatMatchesPlansNothingAndRunsNothingButTheRead()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Images.Add("vflinux");
        fleet["h2"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h2"].Add("web-2", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        var (summary, plan) = await Run(fleet, Request(Parse(Web), fleet));
        Assert.Equal("No changes.", plan.ToDiffText());
        Assert.Equal((0, 0, false, false), (summary.Planned, summary.Failed, summary.Changed, summary.Incomplete));
        Assert.Empty(fleet.Report.Failures);
        Assert.All(fleet.Hosts.Values, h => Assert.Single(h.Scripts));
    }

    [Fact]
    public async Task PruneRemovesThroughTheReleasePathOnlyWhatCarriesThisPlaybooksOwnerRecord()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Images.Add("vflinux");
        fleet["h2"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h2"].Add("web-2", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h2"].Add("web-3", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");   // scaled away: pruned
        fleet["h1"].Add("tagged", tags: ["playbook:web"]);                                           // the tag by hand, no owner record
        fleet["h1"].Add("other-1", tags: ["playbook:other"], owner: "other");
        fleet["h2"].Add("legacy", id: null);

        var (summary, plan) = await Run(fleet, Request(Parse(Web), fleet, prune: true));
        Assert.Equal(["- instance web-3 (prune)"], plan.Steps.Select(s => s.ToString()));
        Assert.Equal((1, 1, 0), (summary.Planned, summary.Applied, summary.Failed));
        Assert.Equal(["web-1", "tagged", "other-1"], fleet["h1"].Domains.Select(d => d.Name));
        Assert.Equal(["web-2", "legacy"], fleet["h2"].Domains.Select(d => d.Name));
        // Asked once for the step; the removal under it (RemoveInstances, as Remove-VfInstance) is not asked again.
        Assert.Equal(["Apply playbook step: - instance web-3 (prune)"], fleet.Report.Asked);
        Assert.Contains(fleet["h2"].Scripts, s => s.Contains("vf_act remove 'web-3'") || s.Contains("vf_act remove web-3"));
    }

    [Fact]
    public async Task WhatIfAppliesNothingAndEveryStepIsSkipped()
    {
        using var fleet = new OperationsFakeFleet(2, shouldProcess: (_, _) => false);
        fleet["h1"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", state: "shut off", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h1"].Add("web-2", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        var (summary, plan) = await Run(fleet, Request(Parse(Web), fleet));
        Assert.Equal(["~ instance web-1: state Stopped -> Running"], plan.Steps.Select(s => s.ToString()));
        Assert.Equal(["Skipped"], summary.Steps.Select(s => s.Status));
        Assert.Equal("shut off", fleet["h1"].Domains[0].State);
        Assert.All(fleet.Hosts.Values, h => Assert.Single(h.Scripts));
    }

    [Fact]
    public async Task TagsOfAnExistingInstanceChangeInPlaceAndOperationsFollow()
    {
        using var fleet = new OperationsFakeFleet(1);
        fleet["h1"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", tags: ["playbook:web"], owner: "web", type: "t1.micro");
        fleet["h1"].Add("web-2", tags: ["playbook:web"], owner: "web", type: "t1.micro");
        var pb = Parse(Web + "operations: [{action: suspend, select: {tags: [web]}}]\n");
        var (summary, plan) = await Run(fleet, Request(pb, fleet));
        Assert.Equal([
            "~ instance web-1: tags +web", "~ instance web-2: tags +web",
            "~ instance web-1: suspend (Running -> Paused)", "~ instance web-2: suspend (Running -> Paused)",
        ], plan.Steps.Select(s => s.ToString()));
        Assert.True(summary.Failed == 0, string.Join("\n", fleet.Report.Failures.Select(f => f.Message)));
        Assert.All(fleet["h1"].Domains, d => Assert.Equal(("playbook:web web", "paused"), (string.Join(" ", d.Tags.Order()), d.State)));
        // One in-place update and one lifecycle round trip for both instances.
        Assert.Single(fleet["h1"].Scripts, s => s.Contains("vf_update "));
        Assert.Single(fleet["h1"].Scripts, s => s.Contains("vf_act suspend"));
        var again = await Run(fleet, Request(pb, fleet));
        Assert.Equal("No changes.", again.Plan.ToDiffText());
    }

    [Fact]
    public async Task NarrowedRunReadsOnlyNamesOutsideAndChangesNothingThere()
    {
        using var fleet = new OperationsFakeFleet(2);
        fleet["h1"].Images.Add("vflinux");
        fleet["h2"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", state: "shut off", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h2"].Add("web-2", state: "shut off", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        var (summary, plan) = await Run(fleet, Request(Parse(Web), fleet, prune: true, "h1"));
        Assert.Equal(["~ instance web-1: state Stopped -> Running"], plan.Steps.Select(s => s.ToString()));
        Assert.Contains("# outside the selected hosts, left alone: web-2 (h2)", plan.ToDiffText());
        Assert.Equal(1, summary.Applied);
        Assert.Equal("running", fleet["h1"].Domains[0].State);
        Assert.Equal("shut off", fleet["h2"].Domains[0].State);
        // h2: one listing of its names, nothing else.
        var only = Assert.Single(fleet["h2"].Scripts);
        Assert.DoesNotContain("vf_act", only);
    }

    [Fact]
    public async Task SelectedHostThatDoesNotAnswerIsAPlanProblemNeverACreateElsewhere()
    {
        using var fleet = new OperationsFakeFleet(2);
        fleet["h1"].Images.Add("vflinux");
        fleet["h1"].Add("web-1", tags: ["web", "playbook:web"], owner: "web", type: "t1.micro");
        fleet["h2"].Down = true;
        var (summary, plan) = await Run(fleet, Request(Parse(Web), fleet));
        Assert.Empty(plan.Steps);
        Assert.True(summary.Incomplete);
        Assert.Equal(["h2"], summary.UnreadHosts);
        Assert.Contains(fleet.Report.Failures, f => f.ErrorId == "PlaybookPlanProblem" && f.Target == "web-2" && f.Message.Contains("h2 did not answer"));
        Assert.Contains(fleet.Report.Failures, f => f.Target == "h2" && f.Kind == FailureKind.ConnectionError);
        Assert.Single(fleet["h1"].Scripts);
        Assert.Equal(["web-1"], fleet["h1"].Domains.Select(d => d.Name));
    }
}
