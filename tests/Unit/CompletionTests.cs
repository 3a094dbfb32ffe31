using System.Diagnostics;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// Tab completion as a user gets it: TabExpansion2 in the real engine with the module imported. Local state
/// (inventory, key pair folder, image cache) is read directly; fleet state (networks, groups, instances) comes
/// from what the session has seen, and with nothing seen and no open connection, completion is empty and quick.
/// </summary>
[Collection(KeyPairFolder.Name)]
public class CompletionTests
{
    // One folder for the whole test process: the key pair folder and image cache are process-wide settings.
    private static readonly string Local = CreateLocalState();

    private static string CreateLocalState()
    {
        var root = Path.Combine(Path.GetTempPath(), $"vf-complete-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.Combine(root, "keypairs"));
        File.WriteAllText(Path.Combine(root, "keypairs", "admin.pub"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2z1u8PH1bOtb3VVXx1Gc1wNmo5Trt5g9NUMhLJRyVb admin\n");
        File.WriteAllText(Path.Combine(root, "keypairs", "deploy.pub"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2z1u8PH1bOtb3VVXx1Gc1wNmo5Trt5g9NUMhLJRyVb deploy\n");
        foreach (var image in new[] { "vflinux", "win2008" })
        {
            Directory.CreateDirectory(Path.Combine(root, "images", image));
            File.WriteAllText(Path.Combine(root, "images", image, "image.json"), $"{{\"name\":\"{image}\"}}");
        }
        Directory.CreateDirectory(Path.Combine(root, "images", "half-copied")); // no image.json: not an image
        Environment.SetEnvironmentVariable("VIRTFLEET_KEYPAIRS", Path.Combine(root, "keypairs"));
        Environment.SetEnvironmentVariable("VIRTFLEET_IMAGE_CACHE", Path.Combine(root, "images"));
        return root;
    }

    private static List<string> Complete(PowerShellHost ps, string input) =>
        ps.Ok("(TabExpansion2 -inputScript $s -cursorColumn $s.Length).CompletionMatches | ForEach-Object CompletionText",
            new Dictionary<string, object?> { ["s"] = input }).Select(o => o.ToString()!).ToList();

    private static string Inventory(PowerShellHost ps)
    {
        var inv = Path.Combine(Local, $"inv-{Guid.NewGuid()}.yml");
        ps.Ok("Add-VfHost hv1 198.51.100.11 -Inventory $i; Add-VfHost hv2 198.51.100.12 -Inventory $i; Add-VfHost db1 198.51.100.13 -Inventory $i",
            new Dictionary<string, object?> { ["i"] = inv });
        return inv;
    }

    [Fact]
    public void HostNamesCompleteFromTheInventoryTheCommandUses()
    {
        using var ps = new PowerShellHost();
        var inv = Inventory(ps);
        Assert.Equal(["hv1", "hv2"], Complete(ps, $"Get-VfHost -Inventory '{inv}' -Name hv"));
        Assert.Equal(["db1"], Complete(ps, $"Get-VfInstance -Inventory '{inv}' -Host d"));
        Assert.Equal(["db1", "hv1", "hv2"], Complete(ps, $"Test-VfHost -Inventory '{inv}' "));
    }

    [Fact]
    public void KeyPairsCompleteFromTheLocalFolder()
    {
        using var ps = new PowerShellHost();
        Assert.Equal(["admin"], Complete(ps, "New-VfInstance -Image vflinux -KeyPair a"));
        Assert.Equal(["admin", "deploy"], Complete(ps, "Remove-VfKeyPair "));
        Assert.Equal(["deploy"], Complete(ps, "Get-VfKeyPair d"));
    }

    [Fact]
    public void ImagesCompleteFromTheLocalCacheAndWhatTheSessionSaw()
    {
        using var ps = new PowerShellHost();
        Assert.Equal(["vflinux"], Complete(ps, "New-VfInstance -Image vf"));
        Assert.Equal(["vflinux", "win2008"], Complete(ps, "Remove-VfImage "));
        // An image seen on a host (Get-VfImage) or under an instance, not in the local cache.
        ps.Ok("[VirtFleet.Cmdlets.VfSession]::Current.Known.SawInstance('hv1', 'web1', 'debian12')");
        Assert.Equal(["debian12"], Complete(ps, "Get-VfInstance -Image deb"));
    }

    [Fact]
    public void InstanceTypesComplete()
    {
        using var ps = new PowerShellHost();
        Assert.Contains("m1.small", Complete(ps, "New-VfInstance -Image vflinux -InstanceType m1."));
        Assert.Contains("m1.small", Complete(ps, "Get-VfInstanceType m1.s"));
    }

    [Fact]
    public void FleetNamesCompleteFromWhatTheSessionKnows()
    {
        using var ps = new PowerShellHost();
        ps.Ok("""
            $known = [VirtFleet.Cmdlets.VfSession]::Current.Known
            $known.SawNetworks([string[]]@('vflab', 'blue', 'backend'))
            $known.SawGroups([string[]]@('web', 'db'))
            $known.SawInstance('hv1', 'web1'); $known.SawInstance('hv2', 'web2'); $known.SawInstance('hv2', 'db1')
            """);
        Assert.Equal(["backend", "blue"], Complete(ps, "New-VfInstance -Image vflinux -Network b"));
        Assert.Equal(["vflab"], Complete(ps, "Set-VfAddress 203.0.113.5 -Instance web1 -Network v"));
        Assert.Equal(["backend", "blue", "vflab"], Complete(ps, "Remove-VfNetwork "));
        Assert.Equal(["web"], Complete(ps, "New-VfInstance -Image vflinux -SecurityGroup w"));
        Assert.Equal(["db"], Complete(ps, "Grant-VfNetworkAccess -Group d"));
        Assert.Equal(["db", "web"], Complete(ps, "Get-VfSecurityGroup "));
        Assert.Equal(["web1", "web2"], Complete(ps, "Stop-VfInstance web"));
        Assert.Equal(["db1"], Complete(ps, "Remove-VfInstance -Name d"));
        Assert.Equal(["web1", "web2"], Complete(ps, "Get-VfInstance w"));
        Assert.Equal(["web2"], Complete(ps, "Set-VfAddress 203.0.113.5 -Instance web2"));
    }

    [Fact]
    public void PublicAddressesCompleteFromWhatTheSessionKnows()
    {
        using var ps = new PowerShellHost();
        ps.Ok("[VirtFleet.Cmdlets.VfSession]::Current.Known.SawAddresses([System.ValueTuple[string, string][]]@([System.ValueTuple[string, string]]::new('203.0.113.5', 'web1'), [System.ValueTuple[string, string]]::new('203.0.113.6', $null), [System.ValueTuple[string, string]]::new('198.51.100.200', $null)))");
        Assert.Equal(["203.0.113.5", "203.0.113.6"], Complete(ps, "Set-VfAddress 203."));
        Assert.Equal(["198.51.100.200"], Complete(ps, "Remove-VfAddress 198"));
        Assert.Equal(["203.0.113.5", "203.0.113.6"], Complete(ps, "Get-VfAddress -Address 203.0.113.*"));
    }

    [Fact]
    public void FleetNamesWithNothingKnownAndNoConnectionAreEmptyAndQuick()
    {
        using var ps = new PowerShellHost();
        var clock = Stopwatch.StartNew();
        Assert.Empty(Complete(ps, "Get-VfNetwork "));
        Assert.Empty(Complete(ps, "New-VfInstance -Image vflinux -SecurityGroup "));
        Assert.Empty(Complete(ps, "Start-VfInstance "));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"completion took {clock.Elapsed}");
    }

    [Fact]
    public void NamesThatNeedQuotesAreQuoted()
    {
        using var ps = new PowerShellHost();
        ps.Ok("[VirtFleet.Cmdlets.VfSession]::Current.Known.SawNetworks([string[]]@('-odd'))");
        Assert.Equal(["'-odd'"], Complete(ps, "Get-VfNetwork '-o"));
    }
}
