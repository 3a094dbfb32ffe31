using System.Management.Automation;
using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Cmdlets;

/// <summary>
/// Shared by Start/Stop/Restart/Suspend/Resume/Remove-VfInstance: instances from the pipeline (Get-VfInstance)
/// or by name, grouped by host, one round trip per host, hosts in parallel. Domains VirtFleet did not create
/// are refused unless -Force.
/// </summary>
public abstract class InstanceLifecycleCmdlet : VfNetworkCmdlet
{
    protected const string ByObject = "ByObject";
    protected const string ByName = "ByName";

    /// <summary>Instances to act on, as Get-VfInstance returns them (from the pipeline); each names its host and the inventory it was read through.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public Instance[] InputObject { get; set; } = [];

    /// <summary>Instance names or ids (wildcards allowed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByName)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InstanceNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Act on domains VirtFleet did not create too (and, for Stop/Restart, power off at once).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>Return the instances as they are afterwards.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected abstract InstanceAction Action { get; }
    protected virtual int TimeoutSeconds => 60;
    protected virtual string Verb => Action.ToString();

    private readonly List<Instance> _targets = [];

    /// <summary>
    /// Shell text run on a host in the action's own round trip, given that host's targets (Remove-VfInstance
    /// reads the host's network state when an instance there has networking to release).
    /// </summary>
    protected virtual string? ActionTrailer(IReadOnlyList<Instance> targets) =>
        Action is InstanceAction.Start or InstanceAction.Stop && targets.Any(t => t.SecurityGroups.Count > 0) ? Networking.HostNetworkState.ReadScript : null;

    /// <summary>
    /// Runs once after the action, with the instances it succeeded on and, per host, what <see cref="ActionTrailer"/>
    /// printed (Remove-VfInstance releases their networking).
    /// </summary>
    /// <remarks>
    /// By default, after a start or stop of instances in security groups, their hosts' firewalls follow: a started
    /// instance has new taps (its default deny was put on them before it ran), a stopped one freed its taps, which
    /// libvirt gives to the next guest that starts.
    /// </remarks>
    protected virtual void AfterActions(Inventory.HostInventory inventory, Transport.SshOptions options, IReadOnlyList<Instance> succeeded,
        IReadOnlyDictionary<string, string> trailers)
    {
        var states = new Dictionary<string, Networking.HostNetworkState>();
        foreach (var (host, text) in trailers)
        {
            try { states[host] = Networking.HostNetworkState.Parse(host, text); }
            catch (VfException e) { WriteFailure(e, host); }
        }
        ReconcileHosts(inventory, options, states);
    }
    private readonly List<string> _names = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObject) _targets.AddRange(InputObject);
        else _names.AddRange(Name);
    }

    protected override void EndProcessing()
    {
        // Piped instances name the inventory they were read through; -Inventory overrides it.
        var inv = Inventory is null && _targets.Select(t => t.Inventory).Distinct().ToList() is [{ } from]
            ? Session.LoadInventory(from) : LoadInventory();
        var options = Options(inv);
        if (_names.Count > 0)
        {
            var found = new List<Instance>();
            ForEachHost(SelectHosts(inv), options, "Finding instances", InstanceReader.ReadAsync, (_, list) =>
                found.AddRange(list.Where(i => _names.Any(n => Wildcard.IsMatch(i.Name, n) || (i.InstanceId is { } id && Wildcard.IsMatch(id, n))))));
            foreach (var n in _names.Where(n => !Wildcard.HasWildcards(n) && !found.Any(i => Wildcard.IsMatch(i.Name, n) || i.InstanceId == n)))
                WriteFailure(new VfException("InstanceNotFound", FailureKind.ObjectNotFound, $"No instance '{n}' on the selected hosts.", n), n);
            _targets.AddRange(found);
        }

        var byHost = new Dictionary<string, List<Instance>>();
        foreach (var i in _targets.DistinctBy(i => (i.Host, i.Name)))
        {
            if (!i.IsVirtFleet && !Force)
            {
                WriteFailure(new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation,
                    $"{i.Host}: {i.Name} was not created by VirtFleet; it is left alone (use -Force to {Verb.ToLowerInvariant()} it).", i.Name), i.Name);
                continue;
            }
            if (!ShouldProcess($"{i.Name} on {i.Host}", $"{Verb} instance")) continue;
            (byHost.TryGetValue(i.Host, out var l) ? l : byHost[i.Host] = []).Add(i);
        }
        var hosts = inv.Hosts.Where(h => byHost.ContainsKey(h.Name)).ToList();
        foreach (var missing in byHost.Keys.Where(k => hosts.All(h => h.Name != k)))
            WriteFailure(new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{missing}' is not in {inv.Path}.", missing), missing);
        var succeeded = new List<Instance>();
        var trailers = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        ForEachHost(hosts, options, $"{Verb} instances", (remote, ct) =>
            InstanceActions.RunAsync(remote, Action, byHost[remote.Host.Name].Select(i => new InstanceActions.Target(i.Name, i.InstanceId)).ToList(),
                TimeoutSeconds, Force, ct, ActionTrailer(byHost[remote.Host.Name]), t => trailers[remote.Host.Name] = t), (host, outcomes) =>
        {
            foreach (var o in outcomes)
            {
                if (o.Error is not null) WriteFailure(o.Error, o.Name);
                else
                {
                    succeeded.AddRange(byHost[host.Name].Where(i => i.Name == o.Name));
                    if (Action == InstanceAction.Remove) Session.Known.Gone(host.Name, o.Name);
                    if (PassThru && o.Instance is not null) WriteInstance(o.Instance, inv);
                }
            }
        });
        if (succeeded.Count > 0) AfterActions(inv, options, succeeded, trailers);
        base.EndProcessing();
    }
}
