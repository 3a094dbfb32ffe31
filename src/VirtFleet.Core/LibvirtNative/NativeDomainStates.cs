using VirtFleet.Model;

namespace VirtFleet.LibvirtNative;

/// <summary>virDomainState values in VirtFleet's words and in virsh's.</summary>
public static class NativeDomainStates
{
    /// <summary>VIR_DOMAIN_NOSTATE .. VIR_DOMAIN_PMSUSPENDED (0..7) as VirtFleet's InstanceState.</summary>
    public static InstanceState ToInstanceState(int state) => state switch
    {
        1 => InstanceState.Running,
        2 => InstanceState.Blocked,
        3 => InstanceState.Paused,
        4 => InstanceState.ShuttingDown,
        5 => InstanceState.Stopped,
        6 => InstanceState.Crashed,
        7 => InstanceState.Suspended,
        _ => InstanceState.Unknown,
    };

    /// <summary>The state as `virsh domstate` and `virsh list` print it.</summary>
    public static string ToVirshWord(int state) => state switch
    {
        0 => "no state",
        1 => "running",
        2 => "idle",
        3 => "paused",
        4 => "in shutdown",
        5 => "shut off",
        6 => "crashed",
        7 => "pmsuspended",
        _ => "unknown",
    };
}
