namespace VirtFleet.Transport.Keeper;

/// <summary>One connection the keeper holds, for Get-VfConnection: its host, whether it is up, its handshakes and commands.</summary>
public sealed record KeeperConnection(string Host, string Address, int Port, string User, bool Connected, int Handshakes, long Commands);
