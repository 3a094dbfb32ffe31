using VirtFleet.Libvirt;
using VirtFleet.Model;
using VirtFleet.Playbooks;

namespace VirtFleet.Operations;

/// <summary>What Invoke-VfPlaybook asks for: a loaded playbook, the hosts it selects, prune, and the OS profiles its instances are built from.</summary>
public sealed class ApplyPlaybookRequest
{
    public required Playbook Playbook { get; init; }
    /// <summary>The playbook's selection (its hosts:, narrowed by -Host/-HostTag): every step stays on these hosts.</summary>
    public required IReadOnlyList<HostEntry> Hosts { get; init; }
    /// <summary>Remove this playbook's instances it no longer lists; null takes the playbook's own 'prune'.</summary>
    public bool? Prune { get; init; }
    public required OsProfileCatalog Profiles { get; init; }
    /// <summary>How long a stop (an operation, a type change) waits for a clean shutdown before forcing the instance off.</summary>
    public int StopTimeoutSeconds { get; init; } = 30;
}
