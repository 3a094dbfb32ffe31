using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Networking;
using VirtFleet.Playbooks;
using Xunit;

namespace VirtFleet.Tests;

public class PlaybookPlannerTests
{
    private static readonly string[] LabHosts = ["vfh1", "vfh2"];

    private static Playbook Example(string name, string? environment = null) =>
        PlaybookLoader.Load(Path.Combine(PowerShellHost.RepoRoot, "playbooks", name), environment);

    private static Playbook Parse(string yaml) => PlaybookLoader.Parse(yaml, "/srv/pb/test.yml");

    /// <summary>The lab as the lab script leaves it: hosts with the vflab network, nothing else.</summary>
    private static FleetState Fresh(params Instance[] instances) => new()
    {
        Hosts = LabHosts,
        Networks = LabHosts.Select(h => new FleetNetwork(h, "vflab")).ToList(),
        Instances = instances,
    };

    /// <summary>The lab after the images were imported.</summary>
    private static FleetState Lab(params Instance[] instances) =>
        Fresh(instances) with { Images = LabHosts.SelectMany(h => new[] { new FleetImage(h, "vflinux"), new FleetImage(h, "win2008") }).ToList() };

    private static Instance Vm(string name, InstanceState state, string image = "vflinux", string type = "t1.micro", string host = "vfh1",
        bool virtFleet = true, params string[] tags) =>
        new() { Name = name, Host = host, State = state, Image = virtFleet ? image : null, InstanceType = virtFleet ? type : null,
                IsVirtFleet = virtFleet, Tags = [.. tags], Networks = ["vflab"], Owner = virtFleet ? OwnerOf(tags) : null };

    /// <summary>The owner record a playbook's create writes (its name as its identity), for instances tagged playbook:NAME.</summary>
    private static InstanceOwner? OwnerOf(IEnumerable<string> tags) =>
        tags.FirstOrDefault(t => t.StartsWith(Playbook.OwnerTagPrefix)) is { } t ? new InstanceOwner(t[Playbook.OwnerTagPrefix.Length..], t[Playbook.OwnerTagPrefix.Length..]) : null;

    private static Instance WithState(Instance i, InstanceState state) =>
        new() { Name = i.Name, Host = i.Host, State = state, Image = i.Image, InstanceType = i.InstanceType, IsVirtFleet = i.IsVirtFleet,
                Tags = i.Tags, Networks = i.Networks, Owner = i.Owner, SecurityGroups = i.SecurityGroups };

    /// <summary>What an executor does with a plan, on the snapshot: enough to see that a second plan is empty.</summary>
    private static FleetState Apply(Plan plan, FleetState fleet)
    {
        Assert.Empty(plan.Problems);
        var instances = fleet.Instances.ToList();
        var images = fleet.Images.ToList();
        var networks = fleet.Networks.ToList();
        var groups = fleet.SecurityGroups.ToList();
        var addresses = fleet.Addresses.ToList();
        var keys = fleet.KeyPairs.ToList();
        var next = 0;
        foreach (var s in plan.Steps)
        {
            int Find() => instances.FindIndex(i => i.Name == s.Name);
            switch (s.Definition, s.Kind)
            {
                case (KeyPairSpec k, _): keys.Add(k.Name); break;
                case (ImageSpec img, _): images.AddRange(s.Hosts.Select(h => new FleetImage(h, img.Name))); break;
                case (NetworkSpec n, _): networks.AddRange(s.Hosts.Select(h => new FleetNetwork(h, n.Name, n.Mode, n.Subnet, n.Bridge))); break;
                case (SecurityGroupSpec g, _):
                    foreach (var h in s.Hosts)
                    {
                        var members = groups.FirstOrDefault(x => x.Name == g.Name && x.Host == h)?.Members ?? [];
                        groups.RemoveAll(x => x.Name == g.Name && x.Host == h);
                        groups.Add(new FleetSecurityGroup(h, g.Name, g.ToSecurityGroup().Rules) { Members = members });
                    }
                    break;
                case (AddressSpec a, _): addresses.RemoveAll(x => x.Address == a.Address); addresses.Add(new FleetAddress(a.Address, a.Instance)); break;
                case (InstanceSpec i, PlanStepKind.Create):
                    Assert.Equal(1, i.Count);
                    Assert.Null(i.NamePrefix);
                    var host = fleet.Hosts[next++ % fleet.Hosts.Count];
                    instances.Add(new Instance { Name = i.Name, Host = host, State = InstanceState.Running,
                        Image = i.Image, InstanceType = i.Type, IsVirtFleet = true, Tags = [.. i.Tags], Networks = i.Network is null ? [] : [i.Network],
                        Owner = OwnerOf(i.Tags) });
                    Join(i.Name, host, i.Groups);
                    break;
                case (InstanceSpec i, PlanStepKind.Change) when s.Action is null:
                    var old = instances[Find()];
                    instances[Find()] = new Instance { Name = old.Name, Host = old.Host, State = old.State, Image = old.Image, InstanceType = i.Type,
                        IsVirtFleet = true, Tags = [.. old.Tags.Union(i.Tags)], Networks = old.Networks, Owner = old.Owner };
                    Join(i.Name, old.Host, i.Groups);
                    break;
                case (_, PlanStepKind.Remove): instances.RemoveAt(Find()); break;
                default:
                    var state = PlaybookPlanner.After(s.Action!.Value, instances[Find()].State);
                    Assert.NotNull(state);
                    instances[Find()] = WithState(instances[Find()], state.Value);
                    break;
            }
        }
        return new FleetState { Hosts = fleet.Hosts, Instances = instances, Images = images, Networks = networks, SecurityGroups = groups,
                                Addresses = addresses, KeyPairs = keys };

        void Join(string name, string host, IReadOnlyList<string> names)
        {
            foreach (var g in names)
            {
                var have = groups.Single(x => x.Name == g && x.Host == host);
                groups[groups.IndexOf(have)] = have with { Members = [.. have.Members, name] };
            }
        }
    }

    private static string[] Lines(Plan plan) => plan.Steps.Select(s => s.ToString()).ToArray();

    [Fact]
    public void FreshFleetCreatesEverything()
    {
        var plan = PlaybookPlanner.Plan(Example("windows-lab.yml"), Fresh());
        Assert.Empty(plan.Problems);
        Assert.Equal([
            "+ keypair labkey (generate)",
            "+ image win2008 (import /var/cache/virtfleet/guests/win2008 to vfh1, vfh2)",
            "+ image vflinux (import /var/cache/virtfleet/guests/vflinux to vfh1, vfh2)",
            "+ security group lab-access (on vfh1, vfh2: allow tcp 3389 from 0.0.0.0/0; allow tcp 22 from 0.0.0.0/0; allow icmp from 198.51.100.0/24)",
            "+ instance win-1 (image win2008, m1.small, network vflab)",
            "+ instance win-2 (image win2008, m1.small, network vflab)",
            "+ instance win-3 (image win2008, m1.small, network vflab)",
            "+ instance lx-1 (image vflinux, t1.micro, network vflab)",
            "+ instance lx-2 (image vflinux, t1.micro, network vflab)",
        ], Lines(plan));
        Assert.All(plan.Steps, s => Assert.Equal(PlanStepKind.Create, s.Kind));
        var lx1 = (InstanceSpec)plan.Steps.Single(s => s.Name == "lx-1").Definition!;
        Assert.Equal(["lab", "linux", "playbook:windows-lab"], lx1.Tags);
        Assert.Equal(("labkey", PlacementStrategy.RoundRobin), (lx1.KeyPair, lx1.Placement));
        Assert.Equal(["vfh1", "vfh2"], plan.Steps[1].Hosts);
        Assert.EndsWith("Plan: 9 to create, 0 to change, 0 to operate, 0 to remove.", plan.ToDiffText());
    }

    [Fact]
    public void SameFleetAfterApplyHasNoChanges()
    {
        var pb = Example("windows-lab.yml");
        var fleet = Apply(PlaybookPlanner.Plan(pb, Fresh()), Fresh());
        var again = PlaybookPlanner.Plan(pb, fleet);
        Assert.False(again.HasChanges, again.ToDiffText());
        Assert.Empty(again.Problems);
        Assert.Equal("No changes.", again.ToDiffText());
    }

    [Fact]
    public void CountIncreasedCreatesOneMore()
    {
        var fleet = Apply(PlaybookPlanner.Plan(Example("web-tier.yml"), Lab()), Lab());
        var plan = PlaybookPlanner.Plan(Example("web-tier.yml", "prod"), fleet);
        Assert.Equal(["+ instance web-3 (image vflinux, t1.micro, network vflab)", "+ instance web-4 (image vflinux, t1.micro, network vflab)"],
            Lines(plan).Where(l => !l.Contains("tier=")));
        // prod also wants another tier tag on the instances that exist: a change in place.
        Assert.Empty(plan.Problems);
        Assert.Equal(["~ instance web-1: tags +tier=production", "~ instance web-2: tags +tier=production"], Lines(plan).Where(l => l.Contains("tier=")));
        var change = plan.Steps.First(s => s.Kind == PlanStepKind.Change);
        Assert.Equal((null, "web-1", "vfh1"), (change.Action, change.Instance!.Name, change.Instance.Host));
        Assert.Equal("No changes.", PlaybookPlanner.Plan(Example("web-tier.yml", "prod"), Apply(plan, fleet)).ToDiffText());

        var oneMore = Parse("name: web-tier\nimages: [{name: vflinux}]\ninstances: [{namePrefix: web, count: 3, image: vflinux, type: t1.micro, " +
                            "network: vflab, groups: [web], tags: [web, tier=staging], keypair: webkey}]\n" +
                            "networks: [{name: vflab}]\nsecurityGroups: [{name: web, rules: [allow tcp 80 from 0.0.0.0/0, allow tcp 22 from 198.51.100.0/24]}]\n" +
                            "keypairs: [{name: webkey, generate: true}]\n");
        Assert.Equal(["+ instance web-3 (image vflinux, t1.micro, network vflab)"], Lines(PlaybookPlanner.Plan(oneMore, fleet)));
    }

    [Fact]
    public void WebTierCreatesItsGroupAndAddress()
    {
        var plan = PlaybookPlanner.Plan(Example("web-tier.yml"), Fresh() with { });
        Assert.Contains("+ security group web (on vfh1, vfh2: allow tcp 80 from 0.0.0.0/0; allow tcp 22 from 198.51.100.0/24)", Lines(plan));
        Assert.Equal("+ address 198.51.100.200 (associate web-1)", Lines(plan)[^1]);
        // vflinux has no path: it must be on some host already.
        Assert.Equal("! image vflinux: on none of the hosts (vfh1, vfh2); import it or give its path", Assert.Single(plan.Problems).ToString());
        Assert.Contains("1 problem to fix", plan.ToDiffText());
    }

    [Fact]
    public void StoppedListedInstanceIsStarted()
    {
        var pb = Parse("name: t\nimages: [{name: vflinux}]\ninstances: [{namePrefix: web, count: 2, image: vflinux, type: t1.micro}]\n");
        var fleet = Lab(Vm("web-1", InstanceState.Running), Vm("web-2", InstanceState.Stopped, host: "vfh2"));
        var plan = PlaybookPlanner.Plan(pb, fleet);
        var step = Assert.Single(plan.Steps);
        Assert.Equal("~ instance web-2: state Stopped -> Running", step.ToString());
        Assert.Equal((PlanStepKind.Change, InstanceAction.Start, "vfh2"), (step.Kind, step.Action, step.Instance!.Host));
        Assert.Equal(["vfh2"], step.Hosts);
        Assert.Equal("~ instance web-2: state Stopped -> Running\nPlan: 0 to create, 1 to change, 0 to operate, 0 to remove.", plan.ToDiffText());

        // A paused one is left for its operations (morning-resume) to decide.
        Assert.Empty(PlaybookPlanner.Plan(pb, Lab(Vm("web-1", InstanceState.Paused), Vm("web-2", InstanceState.Running))).Steps);
        // An operation that selects it decides its state: stop keeps it stopped.
        var stopped = Parse("name: t\nimages: [{name: vflinux}]\ninstances: [{name: web-2, image: vflinux, type: t1.micro, tags: [cold]}]\n" +
                            "operations: [{action: stop, select: {tags: [cold]}}]\n");
        Assert.Empty(PlaybookPlanner.Plan(stopped, Lab(Vm("web-2", InstanceState.Stopped, tags: "cold"))).Steps);
    }

    [Fact]
    public void PruneRemovesOnlyOwnedUnlistedInstancesAndOnlyWhenAsked()
    {
        var pb = Parse("name: web\nimages: [{name: vflinux}]\ninstances: [{namePrefix: web, count: 1, image: vflinux, type: t1.micro}]\n");
        var fleet = Lab(
            Vm("web-1", InstanceState.Running, tags: "playbook:web"),
            Vm("web-2", InstanceState.Running, tags: "playbook:web"),        // scaled away
            Vm("old-1", InstanceState.Stopped, host: "vfh2", tags: "playbook:web"),
            Vm("other-1", InstanceState.Running, tags: "playbook:other"),    // another playbook's
            Vm("handmade", InstanceState.Running),                           // New-VfInstance by hand
            Vm("legacy", InstanceState.Running, virtFleet: false),           // not VirtFleet's
            // The tag alone is not ownership: a hand-made instance tagged like the playbook's, and one made by another
            // playbook of the same name with its own 'owner:' identity, carry no owner record of this playbook.
            new Instance { Name = "tagged", Host = "vfh1", State = InstanceState.Running, Image = "vflinux", InstanceType = "t1.micro",
                           IsVirtFleet = true, Tags = ["playbook:web"] },
            new Instance { Name = "namesake", Host = "vfh2", State = InstanceState.Running, Image = "vflinux", InstanceType = "t1.micro",
                           IsVirtFleet = true, Tags = ["playbook:web"], Owner = new InstanceOwner("web", "team-b.web") });

        var kept = PlaybookPlanner.Plan(pb, fleet);
        Assert.Empty(kept.Steps);
        Assert.Equal(["old-1", "web-2"], kept.Unlisted.Select(i => i.Name));
        Assert.Equal("# kept, no longer listed (prune removes them): old-1, web-2\nNo changes.", kept.ToDiffText());

        var pruned = PlaybookPlanner.Plan(pb, fleet, prune: true);
        Assert.Equal(["- instance old-1 (prune)", "- instance web-2 (prune)"], Lines(pruned));
        Assert.All(pruned.Steps, s => Assert.Equal(InstanceAction.Remove, s.Action));
        Assert.Equal("vfh2", pruned.Steps[0].Instance!.Host);
        Assert.Empty(pruned.Unlisted);

        // The playbook's own prune: true is the default, an explicit false wins.
        var cleanup = Parse("name: web\nprune: true\n");
        Assert.Equal(3, PlaybookPlanner.Plan(cleanup, fleet).Count(PlanStepKind.Remove));
        Assert.Empty(PlaybookPlanner.Plan(cleanup, fleet, prune: false).Steps);
        // Another identity (owner:) prunes only its own.
        var teamB = Parse("name: web\nowner: team-b.web\nprune: true\n");
        Assert.Equal(["- instance namesake (prune)"], Lines(PlaybookPlanner.Plan(teamB, fleet)));
    }

    [Fact]
    public void CleanupExampleRemovesWhatWindowsLabMade()
    {
        var fleet = Apply(PlaybookPlanner.Plan(Example("windows-lab.yml"), Fresh()), Fresh(Vm("legacy", InstanceState.Running, virtFleet: false)));
        var plan = PlaybookPlanner.Plan(Example("cleanup.yml"), fleet);
        Assert.Equal(["- instance lx-1 (prune)", "- instance lx-2 (prune)", "- instance win-1 (prune)", "- instance win-2 (prune)", "- instance win-3 (prune)"],
            Lines(plan));
        Assert.Equal(["legacy"], Apply(plan, fleet).Instances.Select(i => i.Name));
    }

    [Fact]
    public void NarrowedRunLeavesListedInstancesOnOtherHostsAndCreatesOnlyWhatNoHostHolds()
    {
        var pb = Parse("name: web\nimages: [{name: vflinux}]\ninstances: [{namePrefix: web, count: 3, image: vflinux, type: t1.micro}]\nprune: true\n");
        // Narrowed to vfh1: web-2 lives on vfh2 (outside the selection), web-3 nowhere.
        var web2 = Vm("web-2", InstanceState.Running, host: "vfh2", tags: "playbook:web");
        var narrowed = new FleetState { Hosts = ["vfh1"], Images = [new FleetImage("vfh1", "vflinux")], Instances = [Vm("web-1", InstanceState.Running, tags: "playbook:web")],
                                        Outside = [web2] };
        var plan = PlaybookPlanner.Plan(pb, narrowed);
        Assert.Equal(["+ instance web-3 (image vflinux, t1.micro)"], Lines(plan));
        Assert.Equal([web2], plan.Outside);
        Assert.Contains("# outside the selected hosts, left alone: web-2 (vfh2)", plan.ToDiffText());
        // An unselected host that did not answer might hold web-3: a problem, never a create.
        var unread = PlaybookPlanner.Plan(pb, narrowed with { OutsideUnread = ["vfh3"] });
        Assert.Empty(unread.Steps);
        Assert.Equal("! instance web-3: not found on the hosts that answered, and vfh3 did not answer; it is not created until every host that might hold it answers",
            Assert.Single(unread.Problems).ToString());
    }

    [Fact]
    public void ForeignDomainIsNeverRemovedOrChanged()
    {
        // Even a foreign domain that happens to carry the owner tag text is not VirtFleet's.
        var foreign = Vm("db", InstanceState.Stopped, virtFleet: false, tags: "playbook:web");
        var clash = Vm("web-1", InstanceState.Stopped, host: "vfh2", virtFleet: false);
        var pb = Parse("name: web\nimages: [{name: vflinux}]\ninstances: [{name: web-1, image: vflinux, type: t1.micro}]\n" +
                       "operations: [{action: stop, select: {names: ['*']}}, {action: start, select: {names: ['*']}}]\n");
        var plan = PlaybookPlanner.Plan(pb, Fresh(foreign, clash) with { Images = [new FleetImage("vfh1", "vflinux")] }, prune: true);
        Assert.Empty(plan.Steps);
        var problem = Assert.Single(plan.Problems);
        Assert.Equal((PlanResourceType.Instance, "web-1"), (problem.ResourceType, problem.Name));
        Assert.Contains("VirtFleet did not create", problem.Message);
        Assert.Contains("! instance web-1: a domain VirtFleet did not create has this name on vfh2", plan.ToDiffText());
    }

    [Fact]
    public void NightlySuspendTwiceIsEmptyTheSecondTime()
    {
        var fleet = Fresh(
            Vm("win-1", InstanceState.Running, "win2008", "m1.small", tags: ["lab", "windows", "playbook:windows-lab"]),
            Vm("lx-1", InstanceState.Running, tags: ["lab", "linux"]),
            Vm("lx-2", InstanceState.Paused, tags: ["lab", "linux"]),          // already paused: nothing to do
            Vm("lx-3", InstanceState.Stopped, tags: ["lab", "linux"]),         // cannot be paused: nothing to do
            Vm("web-1", InstanceState.Running, tags: ["web"]),
            Vm("app", InstanceState.Running, tags: ["prod"]),                  // not selected
            Vm("lab-vm", InstanceState.Running, virtFleet: false));            // foreign: never selected

        var nightly = Example("nightly-suspend.yml");
        var first = PlaybookPlanner.Plan(nightly, fleet);
        // Unlisted instances are visited by name.
        Assert.Equal(["~ instance lx-1: suspend (Running -> Paused)", "~ instance win-1: suspend (Running -> Paused)", "~ instance web-1: stop (Running -> Stopped)"],
            Lines(first));
        Assert.All(first.Steps, s => Assert.Equal(PlanStepKind.Operate, s.Kind));
        Assert.Equal([InstanceAction.Suspend, InstanceAction.Suspend, InstanceAction.Stop], first.Steps.Select(s => s.Action!.Value));

        var night = Apply(first, fleet);
        Assert.Equal("No changes.", PlaybookPlanner.Plan(nightly, night).ToDiffText());

        var morning = PlaybookPlanner.Plan(Example("morning-resume.yml"), night);
        Assert.Equal(["~ instance lx-1: resume (Paused -> Running)", "~ instance lx-2: resume (Paused -> Running)",
                      "~ instance win-1: resume (Paused -> Running)", "~ instance web-1: start (Stopped -> Running)"], Lines(morning));
        Assert.Empty(PlaybookPlanner.Plan(Example("morning-resume.yml"), Apply(morning, night)).Steps);
    }

    [Fact]
    public void OperationsApplyToInstancesCreatedInTheSameRunAndChainInOrder()
    {
        var pb = Parse("name: t\nimages: [{name: vflinux}]\ninstances: [{name: a, image: vflinux, type: t1.micro, tags: [x]}]\n" +
                       "operations:\n  - {action: suspend, select: {tags: [x]}}\n  - {action: resume, select: {names: [a]}}\n  - {action: restart, select: {image: vflinux}}\n");
        var plan = PlaybookPlanner.Plan(pb, Fresh() with { Images = [new FleetImage("vfh1", "vflinux")] });
        Assert.Equal(["+ instance a (image vflinux, t1.micro)", "~ instance a: suspend (Running -> Paused)",
                      "~ instance a: resume (Paused -> Running)", "~ instance a: restart (Running)"], Lines(plan));
        Assert.Null(plan.Steps[1].Instance); // not there yet: the executor finds it after the create
    }

    [Fact]
    public void TransitionsOnlyWhenTheStateChanges()
    {
        Assert.Equal(InstanceState.Paused, PlaybookPlanner.After(InstanceAction.Suspend, InstanceState.Running));
        Assert.Null(PlaybookPlanner.After(InstanceAction.Suspend, InstanceState.Paused));
        Assert.Null(PlaybookPlanner.After(InstanceAction.Suspend, InstanceState.Stopped));
        Assert.Null(PlaybookPlanner.After(InstanceAction.Resume, InstanceState.Stopped));
        Assert.Null(PlaybookPlanner.After(InstanceAction.Start, InstanceState.Running));
        Assert.Equal(InstanceState.Running, PlaybookPlanner.After(InstanceAction.Start, InstanceState.Paused));
        Assert.Null(PlaybookPlanner.After(InstanceAction.Stop, InstanceState.Stopped));
        Assert.Equal(InstanceState.Stopped, PlaybookPlanner.After(InstanceAction.Stop, InstanceState.Paused));
    }

    [Fact]
    public void DriftIsChangedInPlaceOrReplacedAndOnlyTheseOwnInstancesAreReplaced()
    {
        var pb = Parse("name: t\nimages: [{name: vflinux}]\nnetworks: [{name: vflab}]\nsecurityGroups: [{name: web}]\n" +
                       "instances: [{name: a, image: vflinux, type: m1.small, network: vflab, tags: [x], groups: [web]}]\n");
        var fleet = Fresh() with { Images = [new FleetImage("vfh1", "vflinux")], SecurityGroups = LabHosts.Select(h => new FleetSecurityGroup(h, "web", [])).ToList() };
        // Type, tags and groups: one change in place (the type while it is stopped).
        var a = new Instance { Name = "a", Host = "vfh1", State = InstanceState.Running, Image = "vflinux", InstanceType = "t1.micro", IsVirtFleet = true, Networks = ["vflab"] };
        var inPlace = PlaybookPlanner.Plan(pb, fleet with { Instances = [a] });
        Assert.Empty(inPlace.Problems);
        var change = Assert.Single(inPlace.Steps);
        Assert.Equal("~ instance a: tags +x; groups +web; type t1.micro -> m1.small (stopped and started again)", change.ToString());
        Assert.Equal((PlanStepKind.Change, null, (object)a), (change.Kind, change.Action, (object)change.Instance!));

        // Image or network: a replace (remove, then create), only of an instance this playbook created.
        var b = new Instance { Name = "a", Host = "vfh1", State = InstanceState.Running, Image = "win2008", InstanceType = "m1.small", IsVirtFleet = true,
                               Tags = ["x", "playbook:t"], SecurityGroups = ["web"] };
        var foreign = PlaybookPlanner.Plan(pb, fleet with { Instances = [b] });
        Assert.Empty(foreign.Steps);
        Assert.Equal(["! instance a: image win2008 -> vflinux, network (none) -> vflab needs a replace, and it was not created by this playbook " +
                      "(no owner record t); it is never replaced: remove it to re-create it"], foreign.Problems.Select(p => p.ToString()));
        var owned = new Instance { Name = "a", Host = "vfh1", State = InstanceState.Running, Image = "win2008", InstanceType = "m1.small", IsVirtFleet = true,
                                   Tags = ["x", "playbook:t"], SecurityGroups = ["web"], Owner = new InstanceOwner("t", "t") };
        var replace = PlaybookPlanner.Plan(pb, fleet with { Instances = [owned] });
        Assert.Empty(replace.Problems);
        Assert.Equal(["- instance a (replace: image win2008 -> vflinux, network (none) -> vflab)",
                      "+ instance a (image vflinux, m1.small, network vflab; replaces image win2008 -> vflinux, network (none) -> vflab)"], Lines(replace));
        Assert.Equal((InstanceAction.Remove, (object)owned), (replace.Steps[0].Action!.Value, (object)replace.Steps[0].Instance!));
        Assert.Equal(["x", "playbook:t"], ((InstanceSpec)replace.Steps[1].Definition!).Tags);
    }

    [Fact]
    public void SupportingResourcesAreDiffed()
    {
        var pb = Parse("""
            name: t
            keypairs: [{name: have}, {name: mine, publicKeyFile: keys/mine.pub}, {name: lost}]
            images: [{name: img, path: images/img}]
            networks:
              - {name: lan, mode: Nat, subnet: 203.0.113.0/24, span: true}
              - {name: br, mode: Bridged, bridge: br0}
              - {name: gone}
            securityGroups:
              - name: web
                rules: [allow tcp 80 from 0.0.0.0/0, allow tcp 443 from 0.0.0.0/0]
              - name: closed
            addresses:
              - {address: 203.0.113.10}
              - {address: 203.0.113.11}
            """);
        var fleet = new FleetState
        {
            Hosts = LabHosts,
            KeyPairs = ["have"],
            Images = [new FleetImage("vfh2", "img")],
            Networks = [new FleetNetwork("vfh1", "lan", NetworkMode.Nat, "203.0.113.0/24"), new FleetNetwork("vfh2", "br", NetworkMode.Isolated, "198.51.100.0/24")],
            SecurityGroups = [
                new FleetSecurityGroup("vfh1", "web", [SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0"), SecurityRule.Parse("allow tcp 8080 from 0.0.0.0/0")]),
                new FleetSecurityGroup("vfh2", "web", [SecurityRule.Parse("allow tcp 443 from 0.0.0.0/0"), SecurityRule.Parse("allow tcp 80 from 0.0.0.0/0")]),
                new FleetSecurityGroup("vfh2", "closed", []),
            ],
            Addresses = [new FleetAddress("203.0.113.10", "someone")],
        };
        var plan = PlaybookPlanner.Plan(pb, fleet);
        Assert.Equal([
            "+ keypair mine (import /srv/pb/keys/mine.pub)",
            "+ image img (import /srv/pb/images/img to vfh1)",
            "~ security group web: +allow tcp 443 from 0.0.0.0/0; -allow tcp 8080 from 0.0.0.0/0 (on vfh1)",
            "+ security group closed (on vfh1: no rules, drops all inbound)",
            "+ address 203.0.113.11 (pool)",
        ], Lines(plan));
        Assert.Equal([
            "! keypair lost: not in the key store; give publicKeyFile or generate: true to create it",
            "! network lan: is on vfh1 but not on vfh2; VirtFleet does not add hosts to a network it made",
            "! network br: on vfh2 it is Isolated 198.51.100.0/24, the playbook says Bridged br0; VirtFleet does not redefine a network in use",
            "! network br: is on vfh2 but not on vfh1; VirtFleet does not add hosts to a network it made",
            "! network gone: defined on none of the hosts; give mode (and subnet or bridge) to create it",
        ], plan.Problems.Select(p => p.ToString()));
        Assert.Equal(["vfh1"], plan.Steps[1].Hosts);
        // A network on none of the hosts is made on all of them.
        var fresh = PlaybookPlanner.Plan(Parse("name: t\nnetworks: [{name: lan, mode: Nat, subnet: 203.0.113.0/24, span: true}]\n"), new FleetState { Hosts = LabHosts });
        Assert.Equal(["+ network lan (on vfh1, vfh2: Nat 203.0.113.0/24, span)"], Lines(fresh));
        Assert.Equal(LabHosts, fresh.Steps[0].Hosts);
    }

    [Fact]
    public void AddressAssociationChanges()
    {
        var pb = Parse("name: t\nimages: [{name: vflinux}]\ninstances: [{name: a, image: vflinux, type: t1.micro}]\naddresses: [{address: 203.0.113.10, instance: a}]\n");
        var fleet = Fresh(Vm("a", InstanceState.Running)) with { Addresses = [new FleetAddress("203.0.113.10")] };
        Assert.Equal(["~ address 203.0.113.10: instance (none) -> a"], Lines(PlaybookPlanner.Plan(pb, fleet)));
    }

    [Fact]
    public void NoHostsIsAProblemWhenThereIsSomethingToCreate()
    {
        var pb = Parse("name: t\nimages: [{name: vflinux}]\ninstances: [{name: a, image: vflinux}]\n");
        var plan = PlaybookPlanner.Plan(pb, new FleetState());
        Assert.Contains(plan.Problems, p => p.Message.Contains("no reachable host"));
        Assert.Empty(PlaybookPlanner.Plan(Parse("name: t\n"), new FleetState()).Problems);
    }
}
