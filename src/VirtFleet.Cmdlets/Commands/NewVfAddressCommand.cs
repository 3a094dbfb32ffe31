using System.Management.Automation;
using VirtFleet.Networking;

namespace VirtFleet.Cmdlets.Commands;

/// <summary>
/// <para type="synopsis">Allocates a public address from the fleet's pool (Set-VfAddress then puts it on an instance).</para>
/// <para type="description">-Pool sets or extends the pool (ranges such as 203.0.113.200-203.0.113.220); without -Address the lowest free
/// address of the pool is taken. An unassociated address is on no host; associated, it sits as a /32 on the outside interface
/// of its instance's host: the interface of that host's default route (Test-VfHost shows it as OutsideInterface), or -Interface.</para>
/// <example><code>New-VfAddress -Pool 203.0.113.200-203.0.113.220</code></example>
/// <example><code>New-VfAddress -Address 203.0.113.205 -Interface bond0</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "VfAddress", SupportsShouldProcess = true)]
[OutputType(typeof(PublicAddress))]
public sealed class NewVfAddressCommand : VfNetworkCmdlet
{
    /// <summary>A specific address (added to the pool when outside it).</summary>
    [Parameter(Position = 0)]
    public string? Address { get; set; }

    /// <summary>Address ranges to add to the fleet's pool.</summary>
    [Parameter]
    public string[] Pool { get; set; } = [];

    /// <summary>The interface the address sits on, on whichever host its instance runs (default: each host's own outside interface, the one its default route uses).</summary>
    [Parameter]
    public string? Interface { get; set; }

    protected override void EndProcessing()
    {
        var inv = LoadInventory();
        var options = Options(inv);
        var read = ReadFleet(inv, options);
        List<AddressRange> pool;
        PublicAddress address;
        try
        {
            pool = read.Fleet.Pool.Concat(Pool.Select(AddressRange.Parse)).Distinct().ToList();
            var taken = read.Fleet.Addresses.Select(a => a.Address).ToHashSet();
            if (Address is not null)
            {
                var ip = PublicAddress.ParseIPv4(Address, "InvalidPublicAddress");
                if (taken.Contains(Address))
                    throw new VfException("AddressExists", FailureKind.ResourceExists, $"Public address {Address} is allocated already.", Address);
                if (!pool.Any(r => r.Contains(ip))) pool.Add(AddressRange.Parse(Address));
                address = new PublicAddress(Address, Interface);
            }
            else
            {
                if (pool.Count == 0)
                    throw new VfException("NoAddressPool", FailureKind.ObjectNotFound, "The fleet has no public address pool yet: give -Pool 203.0.113.200-203.0.113.220 (for example).");
                var free = pool.SelectMany(r => r.All()).FirstOrDefault(a => !taken.Contains(a.ToString()))
                    ?? throw new VfException("AddressPoolExhausted", FailureKind.ResourceUnavailable, $"Every address of the pool ({string.Join(", ", pool)}) is allocated.");
                address = new PublicAddress(free.ToString(), Interface);
            }
        }
        catch (VfException ex) { ThrowFailure(ex, Address); return; }
        if (!ShouldProcess(address.Address, "Allocate public address")) return;
        SaveAddresses(read, options, pool, read.Fleet.Addresses.Append(address));
        WriteObject(address);
        base.EndProcessing();
    }
}
