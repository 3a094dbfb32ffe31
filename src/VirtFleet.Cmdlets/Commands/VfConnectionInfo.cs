using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>One pooled SSH connection of this session.</summary>
public sealed record VfConnectionInfo(string Host, string Address, int Port, string User, bool Connected, int Handshakes, long Commands);
