using System.Globalization;
using System.Xml.Linq;
using VirtFleet.HostScripts;
using VirtFleet.Instances;
using VirtFleet.Libvirt;

namespace VirtFleet.ImageBuilds;

/// <summary>Reads a host's image builds: its domains that carry the build block (<see cref="BuildMetadata"/>), with their root disks' sizes.</summary>
public static class ImageBuildReader
{
    /// <summary>Every image build of a host, in one round trip (build-list.sh).</summary>
    public static HostStep<IReadOnlyList<ImageBuild>> ListStep() =>
        HostScript.Load("build-list").Include("domains")
            .Reads(r => Parse(r.EnsureSuccess("listing image builds", "ListImageBuildsFailed").Host.Name, r.Stdout, r.Markers));

    /// <summary>The builds among the domains <c>vf_domains</c> printed, sizes from the SIZE lines after them.</summary>
    public static IReadOnlyList<ImageBuild> Parse(string host, string output, HostMarkers markers)
    {
        var sizes = new Dictionary<string, long>();
        var sizeMarker = markers["SIZE"] + " ";
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith(sizeMarker, StringComparison.Ordinal)) continue;
            var parts = line[sizeMarker.Length..].Split(' ', 2);
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) sizes[parts[1].Trim()] = n;
        }
        var builds = new List<ImageBuild>();
        foreach (var section in output.Split(markers["DOMAIN"] + " ").Skip(1))
        {
            if (section.Length < 36 || !Guid.TryParse(section.AsSpan(0, 36), out _)) continue;
            var lines = section[36..].TrimStart(' ').Split('\n', 3);
            var (state, xml) = lines[0].Trim().Length > 0
                ? (lines[0].Trim(), string.Join('\n', lines.Skip(1)))
                : (lines.Length > 1 ? lines[1].Trim() : "", lines.Length > 2 ? lines[2] : "");
            // The section ends where the sizes start (a SIZE line never starts a domain's XML).
            var cut = xml.IndexOf("\n" + sizeMarker, StringComparison.Ordinal);
            if (cut >= 0) xml = xml[..cut];
            xml = xml.Trim();
            if (xml.Length == 0) continue;
            var root = LibvirtXml.ParseRoot(xml, "domain");
            if (BuildMetadata.FromDomain(root) is not { } meta) continue;
            var info = DomainInfo.Parse(xml);
            var instance = InstanceReader.FromDomain(host, info, state);
            builds.Add(new ImageBuild
            {
                Name = info.Name, Host = host, State = instance.State, Started = meta.Started, OsFamily = meta.OsFamily,
                OsVariant = meta.OsVariant, Firmware = meta.Firmware, DiskBus = meta.DiskBus, VirtioDrivers = meta.VirtioDrivers,
                DiskGiB = meta.DiskGiB, DiskUsedMiB = sizes.TryGetValue(meta.RootDisk, out var used) ? used >> 20 : null,
                Iso = meta.IsoName, DriverIso = meta.DriverIsoName, InstanceId = instance.InstanceId, Instance = instance,
                BlockDevices = BlockDevices(root), Metadata = meta,
            });
        }
        return builds;
    }

    /// <summary>"target device path" of each disk of a domain's XML, in its order.</summary>
    public static IReadOnlyList<string> BlockDevices(XElement domain) =>
        domain.Element("devices")?.Elements("disk")
            .Select(d => $"{d.Element("target")?.Attribute("dev")?.Value} {d.Attribute("device")?.Value} {d.Element("source")?.Attribute("file")?.Value}")
            .ToList() ?? [];
}
