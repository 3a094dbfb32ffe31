using VirtFleet.Model;
using VirtFleet.Networking;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>
/// Issue 13's security defects on the lab: revoked rules that come back, RSA host keys, removal by a stale
/// object or through '..' in a disk path, stale DHCP reservations, addresses VirtFleet did not add, the
/// firewall in place before a new guest's first packet, and IPv6.
/// </summary>
[Collection("lab3")]
public class SecurityLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private static readonly object Once = new();
    private static bool _imported;
    private const string Store = "/var/lib/libvirt/virtfleet";

    public SecurityLabTests(ThreeHostLab lab)
    {
        _lab = lab;
        lock (Once)
        {
            if (_imported) return;
            _lab.Shell.Ok("Import-VfImage -Path $l | Out-Null", new Dictionary<string, object?> { ["l"] = GuestImages.Linux });
            _imported = true;
        }
        Cleanup();
    }

    public void Dispose() => Cleanup();

    private void Cleanup()
    {
        _lab.Shell.Run("Disconnect-VfHost");
        _lab.Shell.Run("Get-VfInstance sx-* | Remove-VfInstance -Confirm:$false");
        foreach (var h in _lab.Status.Hosts)
            _lab.InHost(h.Name, "for d in $(virsh list --all --name | grep '^sx-'); do virsh destroy $d; virsh undefine $d; done >/dev/null 2>&1; " +
                                "rm -rf " + Store + "/instances/sx-*");
        _lab.Shell.Run("Get-VfSecurityGroup sx-* | Remove-VfSecurityGroup -Confirm:$false");
        _lab.Shell.Run("Get-VfNetwork sx-* | Remove-VfNetwork -Confirm:$false");
    }

    private List<T> Ok<T>(string script, Dictionary<string, object?>? vars = null) => _lab.Shell.Ok(script, vars).Select(o => (T)o.BaseObject).ToList();

    private string Filter(string host) => _lab.InHost(host, "iptables-save -t filter").Out;

    // ------------------------------------------------------------------ defect 8

    [Fact]
    public void ARevokeMadeWhileTwoHostsAreDownStaysRevokedWhenTheyReturn()
    {
        Ok<SecurityGroup>("New-VfSecurityGroup sx-rv");
        _lab.Shell.Ok("Grant-VfNetworkAccess sx-rv -Rule 'allow tcp 8080 from 0.0.0.0/0'");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name sx-rv1 -SecurityGroup sx-rv -Host vfh1 -InstanceType t1.micro | Out-Null");
        Assert.Contains("--dport 8080", Filter("vfh1"));

        string[] down = ["vfh2", "vfh3"];
        const string Block = "iptables -w -I INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset";
        foreach (var h in down) Assert.Equal(0, _lab.InHost(h, Block).Code);
        try
        {
            _lab.Shell.Run("Disconnect-VfHost");
            var r = _lab.Shell.Run("Revoke-VfNetworkAccess sx-rv -Rule 'allow tcp 8080 from 0.0.0.0/0' -ConnectTimeout 5");
            // The revoke took effect where it could, and says loudly that two hosts did not get it.
            Assert.DoesNotContain("--dport 8080", Filter("vfh1"));
            var notSaved = Assert.Single(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("SecurityGroupsNotSaved"));
            Assert.Contains("vfh2, vfh3", notSaved.Exception.Message);
        }
        finally
        {
            foreach (var h in down) _lab.InHost(h, Block.Replace(" -I ", " -D "));
        }

        // The hosts are back, still holding the copy with the rule: the next reconcile keeps the port closed.
        _lab.Shell.Run("Disconnect-VfHost");
        Assert.Empty(Ok<SecurityGroup>("Get-VfSecurityGroup sx-rv").Single().Rules);
        _lab.Shell.Ok("Repair-VfNetwork | Out-Null");
        Assert.DoesNotContain("--dport 8080", Filter("vfh1"));
        Assert.Empty(Ok<SecurityGroup>("Get-VfSecurityGroup sx-rv").Single().Rules);
        // ...and the repair brought their copies up to date.
        var copies = _lab.Status.Hosts.Select(h => _lab.InHost(h.Name, $"sha256sum < {Store}/network/groups.json").Out.Trim()).Distinct();
        Assert.Single(copies);
    }

    // ------------------------------------------------------------------ defect 11

    /// <summary>A second sshd on vfh2 (port 2222: an RSA host key only; 2223: RSA and ed25519), for the duration of a test.</summary>
    private sealed class RsaSshd : IDisposable
    {
        private readonly ThreeHostLab _lab;
        public string Dir { get; } = Directory.CreateTempSubdirectory("vf-rsa-").FullName;
        public RsaSshd(ThreeHostLab lab)
        {
            _lab = lab;
            var cfg = Path.Combine(lab.Status.StateDir, "hosts", "vfh2", "ssh");
            Assert.Equal(0, LabFixture.Sh($"ssh-keygen -q -t rsa -b 2048 -N '' -f {Dir}/rsa_key").Code);
            foreach (var (port, keys) in new[] { (2222, $"HostKey {Dir}/rsa_key"), (2223, $"HostKey {cfg}/ssh_host_ed25519_key\nHostKey {Dir}/rsa_key") })
            {
                var text = File.ReadAllLines(Path.Combine(cfg, "sshd_config"))
                    .Where(l => !l.StartsWith("HostKey ") && !l.StartsWith("PidFile ") && !l.StartsWith("ListenAddress "))
                    .Append($"ListenAddress 198.51.100.12:{port}").Append($"PidFile /run/sshd-{port}.pid").Append(keys);
                File.WriteAllLines($"{Dir}/sshd_{port}", text);
                var (code, output) = lab.InHost("vfh2", $"/usr/sbin/sshd -f {Dir}/sshd_{port} -E {Dir}/sshd_{port}.log");
                Assert.True(code == 0, output);
            }
        }

        public string Inventory(int port, string knownHosts)
        {
            var path = Path.Combine(Dir, $"inv-{port}-{Guid.NewGuid():N}.yml");
            File.WriteAllText(path, $"knownHosts: {knownHosts}\nhosts:\n  - name: vfh2rsa\n    address: 198.51.100.12\n    port: {port}\n    keyFile: {_lab.Status.KeyFile}\n");
            return path;
        }

        public void Dispose()
        {
            foreach (var port in new[] { 2222, 2223 }) _lab.InHost("vfh2", $"kill $(cat /run/sshd-{port}.pid)");
        }
    }

    [Fact]
    public void AHostWithAnRsaHostKeyIsTrustedAndRecordedAsSshRsa()
    {
        using var sshd = new RsaSshd(_lab);
        // known_hosts as OpenSSH writes it (ssh-keyscan): "ssh-rsa".
        var scanned = Path.Combine(sshd.Dir, "scanned");
        Assert.Equal(0, LabFixture.Sh($"ssh-keyscan -t rsa -p 2222 198.51.100.12 > {scanned} 2>/dev/null && grep -q ' ssh-rsa ' {scanned}").Code);
        var r = _lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{sshd.Inventory(2222, scanned)}'");
        Assert.Empty(r.Errors);

        // Trust on first use records the key under its type, as OpenSSH does: ssh itself accepts the entry.
        var tofu = Path.Combine(sshd.Dir, "tofu");
        File.WriteAllText(tofu, "");
        r = _lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{sshd.Inventory(2222, tofu)}' -AcceptNewHostKey");
        Assert.Empty(r.Errors);
        Assert.Contains(" ssh-rsa ", File.ReadAllText(tofu));
        Assert.Equal(0, LabFixture.Sh($"ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={tofu} -o GlobalKnownHostsFile=/dev/null " +
                                      $"-i {_lab.Status.KeyFile} -p 2222 root@198.51.100.12 true").Code);
        r = _lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{sshd.Inventory(2222, tofu)}'");
        Assert.Empty(r.Errors);

        // A host with RSA and ed25519 keys whose RSA key alone is on record: the RSA key is negotiated, no "HOST KEY CHANGED".
        var rsaOnly = Path.Combine(sshd.Dir, "rsa-only");
        Assert.Equal(0, LabFixture.Sh($"ssh-keyscan -t rsa -p 2223 198.51.100.12 > {rsaOnly} 2>/dev/null && grep -q ' ssh-rsa ' {rsaOnly}").Code);
        r = _lab.Shell.Run($"Disconnect-VfHost; Test-VfHost -Inventory '{sshd.Inventory(2223, rsaOnly)}'");
        Assert.Empty(r.Errors);
    }

    // ------------------------------------------------------------------ defect 13

    private const string HandMade = "<domain type='qemu'><name>sx-stale</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>";

    [Fact]
    public void RemoveThroughAStaleObjectLeavesTheDomainThatTookItsName()
    {
        var stale = Ok<Instance>("New-VfInstance -Image vflinux -Name sx-stale -Host vfh3 -InstanceType t1.micro").Single();
        _lab.Shell.Ok("Remove-VfInstance sx-stale -Confirm:$false");
        var vars = new Dictionary<string, object?> { ["s"] = stale };

        // A hand-made domain of the same name appears: the stale object must not destroy it, even with -Force.
        Assert.Equal(0, _lab.InHost("vfh3", $"printf '%s' \"{HandMade}\" > /tmp/sx-stale.xml && virsh define /tmp/sx-stale.xml").Code);
        foreach (var force in new[] { "", " -Force" })
        {
            var r = _lab.Shell.Run($"$s | Remove-VfInstance -Confirm:$false{force}", vars);
            Assert.StartsWith("InstanceChanged", Assert.Single(r.Errors).FullyQualifiedErrorId);
            Assert.Equal(0, _lab.InHost("vfh3", "virsh domuuid sx-stale").Code);
        }
        _lab.InHost("vfh3", "virsh undefine sx-stale");

        // Nor a new VirtFleet instance that took the name (another instance id).
        var again = Ok<Instance>("New-VfInstance -Image vflinux -Name sx-stale -Host vfh3 -InstanceType t1.micro").Single();
        Assert.NotEqual(stale.InstanceId, again.InstanceId);
        Assert.StartsWith("InstanceChanged", Assert.Single(_lab.Shell.Run("$s | Remove-VfInstance -Confirm:$false", vars).Errors).FullyQualifiedErrorId);
        Assert.Equal(again.InstanceId, Ok<Instance>("Get-VfInstance sx-stale").Single().InstanceId);
    }

    [Fact]
    public void RemoveKeepsADiskThatTheMetadataNamesThroughDotDot()
    {
        Ok<Instance>("New-VfInstance -Image vflinux -Name sx-dots -Host vfh3 -InstanceType t1.micro");
        _lab.Shell.Ok("Stop-VfInstance sx-dots -Force | Out-Null");
        var victim = $"{Store}/instances/sx-victim/root.qcow2";
        Assert.Equal(0, _lab.InHost("vfh3", $"mkdir -p {Store}/instances/sx-victim && echo precious > {victim}").Code);
        // The metadata (edited by hand, or by anyone who can define domains) names a disk through '..'.
        var (code, output) = _lab.InHost("vfh3",
            "virsh dumpxml --inactive sx-dots > /tmp/sx-dots.xml && " +
            $"sed -i 's|<\\([A-Za-z0-9_]*:\\)\\{{0,1\\}}disks>|&<\\1disk>{Store}/instances/sx-dots/../sx-victim/root.qcow2</\\1disk>|' /tmp/sx-dots.xml && " +
            "grep -q 'sx-dots/../sx-victim' /tmp/sx-dots.xml && virsh define /tmp/sx-dots.xml");
        Assert.True(code == 0, output);

        _lab.Shell.Ok("Remove-VfInstance sx-dots -Confirm:$false");
        Assert.Equal(1, _lab.InHost("vfh3", "virsh domuuid sx-dots").Code);
        Assert.Equal("precious", _lab.InHost("vfh3", $"cat {victim}").Out.Trim());
        // Its own disks went with it.
        Assert.Equal(1, _lab.InHost("vfh3", $"test -e {Store}/instances/sx-dots").Code);
    }

    // ------------------------------------------------------------------ defect 15

    [Fact]
    public void ARemovedInstancesDhcpReservationFileIsDeleted()
    {
        var net = Ok<VfNetwork>("New-VfNetwork -Name sx-dh -Mode Isolated -Subnet 203.0.113.176/28 -Host vfh1").Single();
        var i = Ok<Instance>("New-VfInstance -Image vflinux -Name sx-dh1 -Network sx-dh -Host vfh1 -InstanceType t1.micro").Single();
        var mac = Assert.Single(i.MacAddresses);
        Assert.Equal(0, _lab.InHost("vfh1", $"test -f {net.DhcpHostsDir}/{mac}").Code);
        _lab.Shell.Ok("Remove-VfInstance sx-dh1 -Confirm:$false");
        Assert.Equal("", _lab.InHost("vfh1", $"ls -A {net.DhcpHostsDir}").Out.Trim());
        Assert.All(Ok<NetworkHostReport>("Repair-VfNetwork -Host vfh1 -WhatIf"), r => Assert.True(r.InSync, string.Join("; ", r.Problems)));
    }

    // ------------------------------------------------------------------ defect 14

    [Fact]
    public void AddressesVirtFleetDidNotAddStayOnTheirInterfaces()
    {
        Ok<VfNetwork>("New-VfNetwork -Name sx-pub -Mode Nat -Subnet 203.0.113.192/28 -Host vfh2");
        _lab.Shell.Ok("New-VfInstance -Image vflinux -Name sx-p1 -Network sx-pub -Host vfh2 -InstanceType t1.micro | Out-Null");
        var address = Ok<PublicAddress>("New-VfAddress -Pool 203.0.113.200-203.0.113.220").Single().Address;
        // Addresses in the pool's range that VirtFleet never put there: an admin's on lo, a keepalived VIP on eth0.
        const string Vips = "ip addr add 203.0.113.219/32 dev lo && ip addr add 203.0.113.218/32 dev eth0";
        Assert.Equal(0, _lab.InHost("vfh2", Vips).Code);
        try
        {
            _lab.Shell.Ok($"Set-VfAddress {address} -Instance sx-p1 | Out-Null");
            Assert.Contains($"inet {address}/32", _lab.InHost("vfh2", "ip -4 -o addr show dev eth0 label eth0:vf").Out);
            Assert.All(Ok<NetworkHostReport>("Repair-VfNetwork -Host vfh2"), r => Assert.DoesNotContain(r.Changes, c => c.Contains("203.0.113.21")));
            _lab.Shell.Ok($"Set-VfAddress {address} -Disassociate | Out-Null");
            _lab.Shell.Ok("Repair-VfNetwork -Host vfh2 -Force | Out-Null");
            var all = _lab.InHost("vfh2", "ip -4 -o addr show").Out;
            // Ours is gone, theirs stay.
            Assert.DoesNotContain($"inet {address}/32", all);
            Assert.Contains("inet 203.0.113.219/32", all);
            Assert.Contains("inet 203.0.113.218/32", all);
        }
        finally
        {
            _lab.InHost("vfh2", "ip addr del 203.0.113.219/32 dev lo; ip addr del 203.0.113.218/32 dev eth0");
            _lab.Shell.Run($"Remove-VfAddress {address} -Confirm:$false");
        }
    }

    // ------------------------------------------------------------------ defect 9

    [Fact]
    public void AnInstanceWhoseFirewallCannotBeAppliedIsNotStarted()
    {
        Ok<SecurityGroup>("New-VfSecurityGroup sx-g9");
        Ok<VfNetwork>("New-VfNetwork -Name sx-g9 -Mode Isolated -Subnet 203.0.113.240/28 -Host vfh1");
        // vfh1's iptables tools fail (a stand-in bound over them in that host's mount namespace only).
        Assert.Equal(0, _lab.InHost("vfh1", "printf '#!/bin/sh\\nexit 1\\n' > /tmp/sx-fail && chmod 755 /tmp/sx-fail && " +
                                            "mount --bind /tmp/sx-fail \"$(readlink -f /usr/sbin/iptables-restore)\"").Code);
        try
        {
            var r = _lab.Shell.Run("New-VfInstance -Image vflinux -Name sx-g9 -Network sx-g9 -SecurityGroup sx-g9 -Host vfh1 -InstanceType t1.micro");
            var e = Assert.Single(r.Errors, x => x.FullyQualifiedErrorId.StartsWith("CreateInstanceFailed"));
            Assert.Contains("firewall", e.Exception.Message);
            // Not started, and nothing of it left.
            Assert.NotEqual(0, _lab.InHost("vfh1", "virsh domuuid sx-g9").Code);
            Assert.NotEqual(0, _lab.InHost("vfh1", $"test -e {Store}/instances/sx-g9").Code);
        }
        finally
        {
            _lab.InHost("vfh1", "umount \"$(readlink -f /usr/sbin/iptables-restore)\"");
        }
        // With a working firewall the same create runs, its chains in place.
        var i = Ok<Instance>("New-VfInstance -Image vflinux -Name sx-g9 -Network sx-g9 -SecurityGroup sx-g9 -Host vfh1 -InstanceType t1.micro").Single();
        Assert.Equal(InstanceState.Running, i.State);
        Assert.Contains($"-A VF-I-{i.InstanceId} -m comment --comment \"vf:sx-g9 default deny\" -j DROP", Filter("vfh1"));

        // A start (new taps) is held to the same rule: no firewall, no start.
        _lab.Shell.Ok("Stop-VfInstance sx-g9 -Force | Out-Null");
        Assert.Equal(0, _lab.InHost("vfh1", "mount --bind /tmp/sx-fail \"$(readlink -f /usr/sbin/iptables-restore)\"").Code);
        try
        {
            var r = _lab.Shell.Run("Start-VfInstance sx-g9");
            Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("StartInstanceFailed") && e.Exception.Message.Contains("firewall"));
            Assert.Equal("shut off", _lab.InHost("vfh1", "virsh domstate sx-g9").Out.Trim());
        }
        finally
        {
            _lab.InHost("vfh1", "umount \"$(readlink -f /usr/sbin/iptables-restore)\"");
        }
        _lab.Shell.Ok("Start-VfInstance sx-g9 | Out-Null");
        var tap = _lab.InHost("vfh1", "virsh domiflist sx-g9 | awk 'NR > 2 && NF > 1 { print $1 }'").Out.Trim();
        // The jumps follow the new tap; none is left on a tap the instance no longer has.
        var jumps = Filter("vfh1").Split('\n').Where(l => l.StartsWith("-A VF-FORWARD ") && l.Contains("--physdev-out ") && l.EndsWith($"-j VF-I-{i.InstanceId}")).ToList();
        Assert.NotEmpty(jumps);
        Assert.All(jumps, j => Assert.Contains($"--physdev-out {tap} ", j));
    }

    // ------------------------------------------------------------------ defect 16

    [Fact]
    public void ADefaultDenyGuestIsNotReachableOverIpv6()
    {
        var net = Ok<VfNetwork>("New-VfNetwork -Name sx-v6 -Mode Isolated -Subnet 203.0.113.224/28 -Host vfh1").Single();
        Ok<SecurityGroup>("New-VfSecurityGroup sx-v6");
        var i = Ok<Instance>("New-VfInstance -Image vflinux -Name sx-v6 -Network sx-v6 -SecurityGroup sx-v6 -Host vfh1 -InstanceType t1.micro").Single();
        var address = Ok<VfNetwork>("Get-VfNetwork sx-v6").Single().Reservations.Single().Address;
        // Booted: the host reaches its page over IPv4 (the host's own traffic is not filtered).
        Assert.Equal(0, _lab.InHost("vfh1", $"timeout 240 sh -c 'until curl -sf --max-time 3 http://{address}/cloud.txt; do sleep 1; done'").Code);

        // Another machine on the guest's segment: a veth port of the network's bridge, its peer on vfh1.
        var mac = i.MacAddresses.Single().Split(':').Select(b => Convert.ToByte(b, 16)).ToArray();
        var linkLocal = $"fe80::{mac[0] ^ 2:x2}{mac[1]:x2}:{mac[2]:x2}ff:fe{mac[3]:x2}:{mac[4]:x2}{mac[5]:x2}";
        Assert.Equal(0, _lab.InHost("vfh1", $"ip link add sxv6a type veth peer name sxv6b && ip link set sxv6a master {net.Bridge} up && " +
            "sysctl -qw net.ipv6.conf.sxv6b.disable_ipv6=0 && ip -6 addr add fe80::5ea:1/64 dev sxv6b nodad && ip link set sxv6b up").Code);
        try
        {
            Assert.Equal("1", _lab.InHost("vfh1", "cat /proc/sys/net/bridge/bridge-nf-call-ip6tables").Out.Trim());
            string Ping6() => _lab.InHost("vfh1", $"sleep 2; busybox ping6 -c 3 -W 2 -I sxv6b {linkLocal}%sxv6b 2>&1").Out;
            string Diag() => _lab.InHost("vfh1", "ip6tables-save -c -t filter; virsh domiflist sx-v6; bridge link").Out;
            var closed = Ping6();
            Assert.True(closed.Contains(" 0 packets received"), closed + "\n" + Diag());
            // Our IPv6 chain is what keeps it out: emptied, the guest answers over IPv6; a repair puts it back.
            Assert.Equal(0, _lab.InHost("vfh1", $"ip6tables -w -F VF-I-{i.InstanceId}").Code);
            var open = Ping6();
            Assert.Contains("packets received", open);
            Assert.DoesNotContain(" 0 packets received", open);
            Assert.Contains(Ok<NetworkHostReport>("Repair-VfNetwork -Host vfh1 -WhatIf").Single().Problems, p => p.Contains("ip6tables"));
            _lab.Shell.Ok("Repair-VfNetwork -Host vfh1 | Out-Null");
            Assert.Contains(" 0 packets received", Ping6());
        }
        finally
        {
            _lab.InHost("vfh1", "ip link del sxv6a");
        }
    }
}
