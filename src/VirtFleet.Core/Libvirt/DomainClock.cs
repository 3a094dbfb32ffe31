using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>&lt;clock&gt;: the guest's RTC base (Windows wants localtime) and its timers.</summary>
public sealed class DomainClock
{
    public ClockOffset Offset { get; set; } = ClockOffset.Utc;
    public List<ClockTimer> Timers { get; set; } = [];

    internal XElement ToXml() =>
        new("clock", new XAttribute("offset", Lower(Offset)), Timers.Select(t => t.ToXml()));
}
