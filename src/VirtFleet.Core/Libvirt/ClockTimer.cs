using System.Xml.Linq;
using static VirtFleet.Libvirt.LibvirtXml;

namespace VirtFleet.Libvirt;

/// <summary>One &lt;timer&gt;: rtc/pit with a tick policy, hpet or hypervclock present or not.</summary>
public sealed class ClockTimer
{
    public string Name { get; set; } = "";
    public string? TickPolicy { get; set; }
    public bool? Present { get; set; }

    internal XElement ToXml() =>
        new("timer", new XAttribute("name", Name),
            TickPolicy is null ? null : new XAttribute("tickpolicy", TickPolicy),
            Present is null ? null : new XAttribute("present", YesNo(Present.Value)));
}
