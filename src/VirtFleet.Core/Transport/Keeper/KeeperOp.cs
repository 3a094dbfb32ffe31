namespace VirtFleet.Transport.Keeper;

/// <summary>What a request asks the keeper to do.</summary>
public enum KeeperOp : byte
{
    Ping = 1,
    Run = 2,
    Virsh = 3,
    Upload = 4,
    Download = 5,
    Connections = 6,
    Close = 7,
    Stop = 8,
}
