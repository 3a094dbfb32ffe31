using System.Management.Automation;
using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

[Collection("lab3")]
public class LabFleetTests(ThreeHostLab lab)
{
    [Fact]
    public void ThreeHostsAnswerOverSshWithStrictHostKeys()
    {
        Assert.Equal(3, lab.Status.Hosts.Count);
        Assert.All(lab.Status.Hosts, h => Assert.True(h.Running));
        // Plain OpenSSH, strict: the lab's known_hosts must hold each host's real key.
        foreach (var h in lab.Status.Hosts)
        {
            var (code, output) = LabFixture.Sh(
                $"ssh -i {lab.Status.KeyFile} -o UserKnownHostsFile={lab.Status.KnownHosts} -o StrictHostKeyChecking=yes " +
                $"-o BatchMode=yes -o ConnectTimeout=5 root@{h.Address} virsh -c qemu:///system uri");
            Assert.True(code == 0, output);
            Assert.Contains("qemu:///system", output);
        }
    }

    [Fact]
    public void EachHostRunsItsOwnLibvirtd()
    {
        var facts = lab.Shell.Ok("Test-VfHost").Select(o => (HostFacts)o.BaseObject).OrderBy(f => f.Name).ToList();
        Assert.Equal(["vfh1", "vfh2", "vfh3"], facts.Select(f => f.Name));
        Assert.All(facts, f =>
        {
            Assert.True(f.Healthy, string.Join("; ", f.Problems));
            Assert.Equal(f.Name, f.Hostname);
            Assert.NotNull(f.LibvirtVersion);
        });
        // Each host is its own hypervisor: a domain defined on one is not seen on another.
        var pids = lab.Status.Hosts.Select(h => lab.InHost(h.Name, "cat /run/libvirtd.pid").Out.Trim()).ToList();
        Assert.Equal(3, pids.Distinct().Count());
    }

    [Fact]
    public void GuestsRunUnderTcgHere()
    {
        var f = lab.Shell.Ok("Test-VfHost -Host vfh1").Select(o => (HostFacts)o.BaseObject).Single();
        var hasVmx = File.ReadAllText("/proc/cpuinfo").Split(' ', '\n', '\t').Any(w => w is "vmx" or "svm");
        Assert.Equal(hasVmx ? "kvm" : "qemu", f.DomainType);
    }

    [Fact]
    public void GetVfLabShowsTheHosts()
    {
        var status = (VirtFleet.Lab.LabStatus)lab.Shell.Ok("Get-VfLab").Single().BaseObject;
        Assert.True(status.RunningCount >= 3);
        Assert.Equal("198.51.100.11", status.Hosts[0].Address);
    }
}
