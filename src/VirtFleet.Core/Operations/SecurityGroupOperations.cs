using VirtFleet.Networking;

namespace VirtFleet.Operations;

/// <summary>What New-VfSecurityGroup asks for: a group with rules in their compact form ('allow tcp 22 from 198.51.100.0/24').</summary>
public sealed record NewSecurityGroupRequest(string Name, string? Description = null, IReadOnlyList<string>? Rules = null);

/// <summary>
/// What Grant- and Revoke-VfNetworkAccess ask for (rules added to or taken from a group), and what a playbook's group
/// declares (<see cref="SecurityGroupOperations.SetAsync"/>: the group made when missing, its rules exactly these).
/// </summary>
public sealed record SecurityRulesRequest(string Group, IReadOnlyList<string> Rules, string? Description = null);

/// <summary>
/// The fleet's security groups: list, create, remove (refused while an instance is a member), and change their rules,
/// each change stored on every host (groups.json) and the firewall re-applied wherever a member of the group runs.
/// </summary>
public static class SecurityGroupOperations
{
    /// <summary>
    /// The groups whose names match <paramref name="names"/> (wildcards; all when null), each given to <paramref name="onResult"/>
    /// as well; then each exact name that matched nothing is one SecurityGroupNotFound failure.
    /// </summary>
    public static async Task<IReadOnlyList<SecurityGroup>> GetAsync(FleetScope scope, IReadOnlyList<string>? names, CancellationToken ct,
        Action<SecurityGroup>? onResult = null)
    {
        var read = await new FleetNetworking(scope).ReadAsync(ct);
        var found = read.Fleet.Groups.Where(g => names is null || names.Any(x => Wildcard.IsMatch(g.Name, x))).ToList();
        foreach (var g in found) onResult?.Invoke(g);
        foreach (var x in (names ?? []).Where(x => !Wildcard.HasWildcards(x) && read.Fleet.FindGroup(x) is null))
            scope.Report.Failure(FleetNetworking.NotFound("SecurityGroup", x));
        return found;
    }

    /// <summary>Creates a group (stored on every host); one by that name is SecurityGroupExists. Null when the ShouldProcess question was answered no.</summary>
    public static async Task<SecurityGroup?> NewAsync(FleetScope scope, NewSecurityGroupRequest request, CancellationToken ct)
    {
        SecurityGroup group;
        try { group = new SecurityGroup(request.Name, request.Description, (request.Rules ?? []).Select(SecurityRule.Parse)); }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, request.Name); }
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        if (read.Fleet.FindGroup(group.Name) is not null)
            throw new VfException("SecurityGroupExists", FailureKind.ResourceExists, $"Security group '{request.Name}' exists.", request.Name);
        if (!scope.Report.ShouldProcess(request.Name, "Create security group")) return null;
        await networking.SaveGroupsAsync(read, read.Fleet.Groups.Append(group), ct);
        return group;
    }

    /// <summary>
    /// Removes groups: a name that is not there is SecurityGroupNotFound, a group with members SecurityGroupInUse. Returns the
    /// names removed.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RemoveAsync(FleetScope scope, IReadOnlyList<string> names, CancellationToken ct)
    {
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var groups = read.Fleet.Groups.ToList();
        var removed = new List<string>();
        foreach (var name in names.Distinct())
        {
            var g = groups.FirstOrDefault(x => x.Name == name);
            if (g is null) { scope.Report.Failure(FleetNetworking.NotFound("SecurityGroup", name)); continue; }
            var members = read.Live.SelectMany(l => l.Value.Domains.Where(d => d.Info.Metadata?.SecurityGroups.Contains(name) == true)
                .Select(d => $"{d.Info.Name} on {l.Key}")).ToList();
            if (members.Count > 0)
            {
                scope.Report.Failure(new VfException("SecurityGroupInUse", FailureKind.InvalidOperation,
                    $"Security group '{name}' has members: {string.Join(", ", members)}.", name));
                continue;
            }
            if (!scope.Report.ShouldProcess(name, "Remove security group")) continue;
            groups.Remove(g);
            removed.Add(name);
        }
        if (groups.Count != read.Fleet.Groups.Count) await networking.SaveGroupsAsync(read, groups, ct);
        return removed;
    }

    /// <summary>Adds rules to a group (Grant-VfNetworkAccess); see <see cref="SetAsync"/> for what follows a change.</summary>
    public static Task<SecurityGroup?> GrantAsync(FleetScope scope, SecurityRulesRequest request, CancellationToken ct) =>
        ChangeAsync(scope, request, Change.Grant, ct);

    /// <summary>Takes rules from a group (Revoke-VfNetworkAccess).</summary>
    public static Task<SecurityGroup?> RevokeAsync(FleetScope scope, SecurityRulesRequest request, CancellationToken ct) =>
        ChangeAsync(scope, request, Change.Revoke, ct);

    /// <summary>
    /// Makes the group hold exactly the request's rules (created when missing, with the request's description): what a playbook
    /// declares. A change is stored on every host and the firewall re-applied on every host where a member runs; no change
    /// writes nothing. Returns the group as it is afterwards, null when the ShouldProcess question was answered no.
    /// </summary>
    public static Task<SecurityGroup?> SetAsync(FleetScope scope, SecurityRulesRequest request, CancellationToken ct) =>
        ChangeAsync(scope, request, Change.Set, ct);

    enum Change { Grant, Revoke, Set }

    static async Task<SecurityGroup?> ChangeAsync(FleetScope scope, SecurityRulesRequest request, Change change, CancellationToken ct)
    {
        var name = request.Group;
        List<SecurityRule> rules;
        try
        {
            rules = request.Rules.Select(SecurityRule.Parse).ToList();
            SecurityGroup.ValidateName(name);
        }
        catch (VfException ex) { throw FleetNetworking.Retarget(ex, name); }
        var networking = new FleetNetworking(scope);
        var read = await networking.ReadAsync(ct);
        var group = read.Fleet.FindGroup(name);
        if (group is null && change != Change.Set) throw FleetNetworking.NotFound("SecurityGroup", name);
        var changed = change switch
        {
            Change.Grant => group!.With(rules),
            Change.Revoke => group!.Without(rules),
            _ => new SecurityGroup(name, request.Description ?? group?.Description, rules),
        };
        if (group is not null && changed.Rules.SequenceEqual(group.Rules) && (change != Change.Set || changed.Description == group.Description))
        {
            scope.Report.Verbose(change == Change.Set
                ? $"security group {name} is as declared"
                : $"security group {name} already {(change == Change.Grant ? "has" : "lacks")} {string.Join("; ", rules)}");
            return group;
        }
        var (target, action) = change switch
        {
            Change.Grant => ($"{name}: {string.Join("; ", rules)}", "Grant network access"),
            Change.Revoke => ($"{name}: {string.Join("; ", rules)}", "Revoke network access"),
            _ => ($"{name}: {(rules.Count == 0 ? "no rules" : string.Join("; ", rules))}", group is null ? "Create security group" : "Set security group rules"),
        };
        if (!scope.Report.ShouldProcess(target, action)) return null;
        var groups = group is null ? read.Fleet.Groups.Append(changed).ToList() : read.Fleet.Groups.Select(g => g.Name == name ? changed : g).ToList();
        await networking.SaveGroupsAsync(read, groups, ct);
        await networking.ReconcileAsync(read, FleetNetworking.With(read.Fleet, groups: groups), FleetNetworking.HostsWithMembers(read, name),
            useKnownState: true, checkOnly: false, ct);
        return changed;
    }
}
