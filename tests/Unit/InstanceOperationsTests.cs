using VirtFleet.Instances;
using VirtFleet.Model;
using VirtFleet.Operations;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>ListInstances, InstanceLifecycle and RemoveInstances against fake hosts: what they run, report and return.</summary>
public class InstanceOperationsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ListFiltersByNameImageStateTagAndLeavesForeignDomainsOutUnlessAll()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("web-2", tags: ["prod"]);
        fleet["h1"].Add("web-1", state: "shut off", tags: ["prod", "eu"]);
        fleet["h2"].Add("db-1", image: "win2008");
        fleet["h2"].Add("foreign", id: null);
        var hosts = fleet.Inventory.Hosts;

        var all = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts }, None);
        Assert.Equal(["db-1", "web-1", "web-2"], all.Select(i => i.Name).Order());
        Assert.Contains("foreign", (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, All = true }, None)).Select(i => i.Name));
        Assert.Equal(["web-1", "web-2"], (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, Names = ["web*"] }, None)).Select(i => i.Name));
        Assert.Equal(["db-1"], (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, Images = ["win*"] }, None)).Select(i => i.Name));
        Assert.Equal(["web-1"], (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, States = [InstanceState.Stopped] }, None)).Select(i => i.Name));
        Assert.Equal(["web-1"], (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, Tags = ["PROD", "eu"] }, None)).Select(i => i.Name));
        var id = fleet["h2"].Domains[0].InstanceId!;
        Assert.Equal(["db-1"], (await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = hosts, Names = [id] }, None)).Select(i => i.Name));
    }

    [Fact]
    public async Task ListStreamsEachHostSortedAndAFailedHostIsOneErrorNamingIt()
    {
        using var fleet = new OperationsFakeFleet(3);
        fleet["h1"].Add("b");
        fleet["h1"].Add("a");
        fleet["h3"].Add("c");
        fleet["h2"].Down = true;
        var seen = new List<IReadOnlyList<string>>();
        var all = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = fleet.Inventory.Hosts }, None,
            list => seen.Add(list.Select(i => i.Name).ToList()));
        Assert.Equal(3, all.Count);
        Assert.Contains(seen, s => s.SequenceEqual(["a", "b"]));
        var e = Assert.Single(fleet.Report.Failures);
        Assert.Equal("h2", e.Target);
        Assert.Equal(FailureKind.ConnectionError, e.Kind);
    }

    [Fact]
    public async Task ANameNotFoundWhileAHostDidNotAnswerSaysTheInstanceMayBeThere()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("web-1", state: "shut off");
        fleet["h2"].Down = true;
        await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Start, Names = ["web-1", "web-2"], SearchHosts = fleet.Inventory.Hosts,
        }, None);

        Assert.Contains(fleet.Report.Failures, f => f.Target == "h2" && f.Kind == FailureKind.ConnectionError);
        var missing = Assert.Single(fleet.Report.Failures, f => f.ErrorId == "InstanceNotFound");
        Assert.Equal("web-2", missing.Target);
        Assert.Equal("No instance 'web-2' on the hosts that answered; h2 did not (see its error).", missing.Message);
    }

    [Fact]
    public async Task LifecycleByNameActsOnceOnEachHostAndReportsWhatItCouldNotFind()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("web-1", state: "shut off");
        fleet["h2"].Add("web-2", state: "shut off");
        var done = new List<string>();
        var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Start, Names = ["web-*", "nosuch"], SearchHosts = fleet.Inventory.Hosts,
        }, None, o => done.Add(o.Name));

        Assert.Equal(["web-1", "web-2"], done.Order());
        Assert.All(result.Done, o => Assert.Equal(InstanceState.Running, o.After!.State));
        var e = Assert.Single(fleet.Report.Failures);
        Assert.Equal("InstanceNotFound", e.ErrorId);
        Assert.Equal("No instance 'nosuch' on the selected hosts.", e.Message);
        Assert.Equal(["Start instance: web-1 on h1", "Start instance: web-2 on h2"], fleet.Report.Asked.Order());
        // One listing and one locked action script per host.
        Assert.All(fleet.Hosts.Values, h => Assert.Equal(2, h.Scripts.Count));
        Assert.All(fleet.Hosts.Values, h => Assert.Contains("flock", h.Scripts[1]));
    }

    [Fact]
    public async Task LifecycleRefusesForeignDomainsWithoutForceAndSkipsWhatIsDeclined()
    {
        using var fleet = new OperationsFakeFleet(1, shouldProcess: (target, _) => !target.StartsWith("keep"));
        fleet["h1"].Add("foreign", id: null);
        fleet["h1"].Add("keep-1");
        fleet["h1"].Add("go-1");
        var listed = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = fleet.Inventory.Hosts, All = true }, None);

        var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest { Action = InstanceAction.Suspend, Instances = listed }, None);

        var refused = Assert.Single(fleet.Report.Failures);
        Assert.Equal("NotCreatedByVirtFleet", refused.ErrorId);
        Assert.Equal("h1: foreign was not created by VirtFleet; it is left alone (use -Force to suspend it).", refused.Message);
        Assert.Equal(InstanceActionStatus.Skipped, result.Outcomes.Single(o => o.Name == "keep-1").Status);
        Assert.Equal(InstanceActionStatus.Failed, result.Outcomes.Single(o => o.Name == "foreign").Status);
        Assert.Equal("paused", fleet["h1"].Domains.Single(d => d.Name == "go-1").State);
        Assert.Equal("running", fleet["h1"].Domains.Single(d => d.Name == "keep-1").State);
        Assert.DoesNotContain("keep-1", fleet["h1"].Scripts.Last());

        // With Force the foreign domain is acted on.
        fleet.Report.Failures.Clear();
        await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest { Action = InstanceAction.Stop, Instances = listed.Where(i => i.Name == "foreign").ToList(), Force = true }, None);
        Assert.Empty(fleet.Report.Failures);
        Assert.Equal("shut off", fleet["h1"].Domains.Single(d => d.Name == "foreign").State);
    }

    [Fact]
    public async Task LifecycleOnAHostNotInTheInventoryOrAFailingHostFailsItsInstances()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("a");
        fleet["h2"].Add("b");
        var listed = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = fleet.Inventory.Hosts }, None);
        var stray = new Instance { Name = "c", Host = "gone", InstanceId = "i-00000001", IsVirtFleet = true };
        fleet["h2"].Down = true;

        var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest { Action = InstanceAction.Restart, Instances = [.. listed, stray] }, None);

        Assert.Equal(["a"], result.Done.Select(o => o.Name));
        Assert.Equal(["HostNotFound", "ConnectionFailed"], fleet.Report.Failures.Select(f => f.ErrorId));
        Assert.Equal(["gone", "h2"], fleet.Report.Failures.Select(f => f.Target));
        Assert.Equal(InstanceActionStatus.Failed, result.Outcomes.Single(o => o.Name == "b").Status);
        Assert.Equal(InstanceActionStatus.Failed, result.Outcomes.Single(o => o.Name == "c").Status);
    }

    [Fact]
    public async Task AStaleObjectNeverActsOnADomainThatTookItsName()
    {
        using var fleet = new OperationsFakeFleet(1);
        fleet["h1"].Add("web-1");
        var listed = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = fleet.Inventory.Hosts }, None);
        fleet["h1"].Domains.Clear();
        fleet["h1"].Add("web-1");
        var result = await RemoveInstances.RunAsync(fleet.Scope, new InstanceActionRequest { Instances = listed }, None);
        Assert.Empty(result.Done);
        Assert.Equal("InstanceChanged", Assert.Single(fleet.Report.Failures).ErrorId);
        Assert.Single(fleet["h1"].Domains);
    }

    /// <summary>The text of network-state.sh (the read of a host's network state, a step of the action's round trip).</summary>
    private const string NetworkStateRead = "M=\"@@VF-SECTION-$VF_NONCE@@\"\nvf_docs\n";

    [Fact]
    public async Task StartOfAnInstanceInASecurityGroupReadsTheHostsNetworkStateInTheSameTrip()
    {
        using var fleet = new OperationsFakeFleet(1);
        fleet["h1"].Add("web-1", state: "shut off", groups: ["web"]);
        var result = await InstanceLifecycle.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Action = InstanceAction.Start, Names = ["web-1"], SearchHosts = fleet.Inventory.Hosts,
        }, None);
        Assert.Single(result.Done);
        Assert.Contains(NetworkStateRead, fleet["h1"].Scripts.Last());
        // The host's state came back with the start; its firewall follows from it.
        Assert.Empty(fleet.Report.Failures);
    }

    [Fact]
    public async Task RemoveReadsNetworkStateOnlyWhereARemovedInstanceHadNetworkingAndListsWhatToRelease()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("plain");
        fleet["h2"].Add("nic", mac: "52:54:00:00:00:01");
        var listed = await ListInstances.RunAsync(fleet.Scope, new ListInstancesRequest { Hosts = fleet.Inventory.Hosts }, None);
        var gone = new List<string>();
        var result = await RemoveInstances.RunAsync(fleet.Scope, new InstanceActionRequest { Instances = listed }, None, o => gone.Add(o.Name));

        Assert.Equal(["nic", "plain"], gone.Order());
        Assert.All(result.Done, o => Assert.Null(o.After));
        Assert.DoesNotContain(NetworkStateRead, fleet["h1"].Scripts.Last());
        Assert.Contains(NetworkStateRead, fleet["h2"].Scripts.Last());
        Assert.Equal([new ReleasedInstance("h2", "nic", listed.Single(i => i.Name == "nic").InstanceId)], RemoveInstances.ToRelease(result));
        Assert.Equal(["Remove instance: nic on h2", "Remove instance: plain on h1"], fleet.Report.Asked.Order());
        Assert.Empty(fleet["h1"].Domains);
    }

    [Fact]
    public async Task RemoveByNameWithNothingToAskFindsAndRemovesOnEachHostInOneTrip()
    {
        using var fleet = new OperationsFakeFleet(3);
        fleet["h1"].Add("web-1");
        fleet["h1"].Add("web-2", mac: "52:54:00:00:00:02");
        fleet["h1"].Add("foreign", id: null);
        fleet["h2"].Add("WEB-3");
        var db = fleet["h2"].Add("db-1");
        fleet["h3"].Add("other");
        var gone = new List<string>();
        var result = await RemoveInstances.RunAsync(fleet.Scope, new InstanceActionRequest
        {
            Names = ["web-*", db.InstanceId!, "foreign", "nosuch"], SearchHosts = fleet.Inventory.Hosts,
        }, None, o => gone.Add(o.Name));

        Assert.Equal(["WEB-3", "db-1", "web-1", "web-2"], gone.Order(StringComparer.Ordinal));
        // One round trip a host; where a removed instance had a NIC, the host's network state is read after it.
        Assert.Equal([2, 1, 1], fleet.Hosts.Values.Select(h => h.Scripts.Count));
        Assert.Contains(NetworkStateRead, fleet["h1"].Scripts[1]);
        Assert.Equal([new ReleasedInstance("h1", "web-2", result.Done.Single(o => o.Name == "web-2").Target!.InstanceId)], RemoveInstances.ToRelease(result));
        Assert.Empty(fleet.Report.Asked);
        Assert.Equal(["foreign", "other"], fleet.Hosts.Values.SelectMany(h => h.Domains).Select(d => d.Name).Order());
        Assert.Equal(["InstanceNotFound", "NotCreatedByVirtFleet"], fleet.Report.Failures.Select(f => f.ErrorId).Order());
        Assert.Equal("h1: foreign was not created by VirtFleet; it is left alone (use -Force to remove it).",
            fleet.Report.Failures.Single(f => f.ErrorId == "NotCreatedByVirtFleet").Message);
        Assert.Equal("nosuch", fleet.Report.Failures.Single(f => f.ErrorId == "InstanceNotFound").Target);
    }

    [Fact]
    public async Task RemoveByNameThatAsksOrNamesOddlyListsFirst()
    {
        // Asked about each instance (-Confirm, -WhatIf): the instances are listed first, each named in the question.
        using var asking = new OperationsFakeFleet(1, shouldProcess: (_, _) => true);
        asking["h1"].Add("web-1");
        await RemoveInstances.RunAsync(asking.Scope, new InstanceActionRequest { Names = ["web-*"], SearchHosts = asking.Inventory.Hosts }, None);
        Assert.Equal(["Remove instance: web-1 on h1"], asking.Report.Asked);
        Assert.Equal(2, asking["h1"].Scripts.Count);
        Assert.Empty(asking["h1"].Domains);

        // A name no host pattern can say exactly is matched here, after a listing.
        using var odd = new OperationsFakeFleet(1);
        odd["h1"].Add("web-1");
        await RemoveInstances.RunAsync(odd.Scope, new InstanceActionRequest { Names = ["web-1", "[!x]*"], SearchHosts = odd.Inventory.Hosts }, None);
        Assert.Equal(2, odd["h1"].Scripts.Count);
        Assert.Empty(odd["h1"].Domains);
    }

    [Fact]
    public async Task RemoveByNameWhileAHostIsDownSaysTheInstanceMayBeThere()
    {
        using var fleet = new OperationsFakeFleet();
        fleet["h1"].Add("web-1");
        fleet["h2"].Down = true;
        var result = await RemoveInstances.RunAsync(fleet.Scope, new InstanceActionRequest { Names = ["web-1", "web-2"], SearchHosts = fleet.Inventory.Hosts }, None);
        Assert.Equal(["web-1"], result.Done.Select(o => o.Name));
        Assert.Equal("No instance 'web-2' on the hosts that answered; h2 did not (see its error).",
            fleet.Report.Failures.Single(f => f.ErrorId == "InstanceNotFound").Message);
        Assert.Contains(fleet.Report.Failures, f => f.Target == "h2" && f.Kind == FailureKind.ConnectionError);
    }
}

/// <summary>CreateInstances: what stops a batch before any host changes.</summary>
public class CreateInstancesOperationTests
{
    private static CreateInstancesRequest Request(OperationsFakeFleet fleet, string image = "nosuch-image-9f3c", bool noNetwork = true,
        string? network = null, string[]? tags = null) => new()
    {
        Image = image, Names = ["web-1"], NoNetwork = noNetwork, Network = network, Tags = tags ?? [], Hosts = fleet.Inventory.Hosts,
        Profiles = Libvirt.OsProfileCatalog.Parse(""),
    };

    [Fact]
    public async Task BadInputStopsTheBatchBeforeAnyHostIsRead()
    {
        using var fleet = new OperationsFakeFleet();
        var both = await Assert.ThrowsAsync<VfException>(() => CreateInstances.RunAsync(fleet.Scope, Request(fleet, network: "vflab"), CancellationToken.None));
        Assert.Equal("NetworkAndNoNetwork", both.ErrorId);
        var name = await Assert.ThrowsAsync<VfException>(() => CreateInstances.RunAsync(fleet.Scope, new CreateInstancesRequest
        {
            Image = "vflinux", Names = ["a;touch /tmp/x"], NoNetwork = true, Hosts = fleet.Inventory.Hosts, Profiles = Libvirt.OsProfileCatalog.Parse(""),
        }, CancellationToken.None));
        Assert.Equal("InvalidInstanceName", name.ErrorId);
        Assert.Equal("vflinux", name.Target); // the batch's image, as New-VfInstance's terminating error names it
        Assert.All(fleet.Hosts.Values, h => Assert.Empty(h.Scripts));
        Assert.Empty(fleet.Report.Asked);
    }

    [Fact]
    public async Task HostsThatDoNotAnswerAreOneErrorEachThenAnImageNowhereIsImageNotFound()
    {
        using var fleet = new OperationsFakeFleet();
        foreach (var h in fleet.Hosts.Values) h.Down = true;
        var e = await Assert.ThrowsAsync<VfException>(() => CreateInstances.RunAsync(fleet.Scope, Request(fleet), CancellationToken.None));
        Assert.Equal("ImageNotFound", e.ErrorId);
        Assert.Equal("No image 'nosuch-image-9f3c' on the selected hosts or in the local cache; import it with Import-VfImage.", e.Message);
        Assert.Equal(["h1", "h2"], fleet.Report.Failures.Select(f => f.Target).Order());
        Assert.Empty(fleet.Report.Asked);
    }
}
