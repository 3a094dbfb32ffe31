using System.Management.Automation;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>One pooled host connection of this session; <see cref="Transport"/> is "ssh", or "local" for this machine (no address, user or handshake).</summary>
public sealed record VfConnectionInfo(string Host, string Address, int Port, string User, bool Connected, int Handshakes, long Commands, string Transport = "ssh");
