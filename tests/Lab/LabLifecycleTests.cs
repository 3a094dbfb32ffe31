using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>Start-VfLab then Stop-VfLab as a user types them: Stop leaves nothing behind.</summary>
[Collection("labstop")]
public class LabLifecycleTests
{
    private static string Snapshot() => LabFixture.Sh(
        "ip netns list | grep -c '^vflab-' ; ip -o link show | grep -c 'vflab' ; " +
        "pgrep -fc '[v]flab-init|[/]var/lib/virtfleet-lab' ; test -e /var/lib/virtfleet''-lab && echo state-dir; " +
        "ip route | grep -c 'vflab0'").Out;

    [Fact]
    public void StopLeavesNothingBehindAndStartIsIdempotent()
    {
        using var ps = new PowerShellHost();
        ps.Ok("Start-VfLab -HostCount 2 -Confirm:$false | Out-Null");
        var again = (VirtFleet.Lab.LabStatus)ps.Ok("Start-VfLab -HostCount 2 -Confirm:$false").Single().BaseObject;
        Assert.True(again.RunningCount >= 2);
        ps.Ok("Stop-VfLab -Confirm:$false");
        Assert.True(Snapshot() == "0\n0\n0\n0\n",
            Snapshot() + LabFixture.Sh("ip netns list; ip -o link show | grep vflab; pgrep -fa '[v]flab-init|[/]var/lib/virtfleet-lab'").Out);
        var iptables = LabFixture.Sh("iptables-save | grep -c -i vflab").Out.Trim();
        Assert.Equal("0", iptables);
        // Stopping a stopped lab is fine.
        ps.Ok("Stop-VfLab -Confirm:$false");
    }
}

[CollectionDefinition("labstop")] public sealed class LabStopCollection;
