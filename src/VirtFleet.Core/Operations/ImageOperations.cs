using VirtFleet.Images;
using VirtFleet.Instances;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>
/// An image to import: a folder holding image.json (plus the disk, and kernel/initrd for direct kernel boot), or a qcow2 disk
/// whose properties are given here.
/// </summary>
public sealed class ImportImageRequest
{
    /// <summary>The image folder or disk file (a full local path).</summary>
    public required string Path { get; init; }
    /// <summary>The image's name: overrides image.json's for a folder, required for a disk file.</summary>
    public string? Name { get; init; }
    /// <summary>For a disk file: Windows or Linux.</summary>
    public string OsFamily { get; init; } = "Linux";
    public string? OsVariant { get; init; }
    public string? Firmware { get; init; }
    public bool VirtioDrivers { get; init; }
    public string? DiskBus { get; init; }
    public string? NicModel { get; init; }
    public int? MinMemoryMiB { get; init; }
    /// <summary>The hosts that get the image where they lack it.</summary>
    public IReadOnlyList<HostEntry> Hosts { get; init; } = [];
}

/// <summary>What the hosts' image stores hold.</summary>
/// <param name="Images">The images whose names match, by name, each with the hosts that hold it.</param>
/// <param name="Seen">Every image name found (matching or not).</param>
public sealed record ImageListing(IReadOnlyList<ImageInfo> Images, IReadOnlyList<string> Seen);

/// <summary>
/// The image catalog's workflows: import (check, cache locally, upload to the hosts that lack it), list (which hosts hold
/// each image) and remove (from hosts, refused where an instance still uses the image unless forced).
/// </summary>
public static class ImageOperations
{
    /// <summary>
    /// Imports an image: checks it (no qcow2 backing or external data file), caches it locally so any host can get it later,
    /// and uploads it to each host that lacks it. A bad image or path throws (nothing is uploaded); a host that fails is one
    /// error and the others go on. Null when the import was declined (ShouldProcess).
    /// </summary>
    public static async Task<ImageInfo?> ImportAsync(FleetScope scope, ImportImageRequest request, CancellationToken ct)
    {
        ImageManifest manifest;
        string folder;
        var full = request.Path;
        if (Directory.Exists(full))
        {
            folder = full;
            var json = Path.Combine(full, "image.json");
            if (!File.Exists(json))
                throw new VfException("ImageManifestMissing", FailureKind.ObjectNotFound, $"{full} has no image.json.", full);
            manifest = ImageManifest.Parse(await File.ReadAllTextAsync(json, ct), json);
            if (request.Name is not null) manifest.Name = request.Name;
        }
        else if (File.Exists(full))
        {
            folder = Path.GetDirectoryName(full)!;
            manifest = new ImageManifest
            {
                Name = request.Name!, OsFamily = request.OsFamily.ToLowerInvariant(), OsVariant = request.OsVariant,
                Firmware = request.Firmware?.ToLowerInvariant(), DiskBus = request.DiskBus?.ToLowerInvariant(),
                NicModel = request.NicModel?.ToLowerInvariant(), MinMemoryMiB = request.MinMemoryMiB,
                VirtioDrivers = request.VirtioDrivers ? true : null, Disk = Path.GetFileName(full),
            };
        }
        else throw new VfException("ImagePathNotFound", FailureKind.ObjectNotFound, $"No file or folder {full}.", full);

        if (!scope.Report.ShouldProcess(manifest.Name, "Import image")) return null;
        manifest = ImageStore.AddToLocalCache(folder, manifest);

        var holders = new List<string>();
        await scope.ForEachHostAsync(request.Hosts, $"Importing image {manifest.Name}", async (host, c) =>
        {
            var copied = await ImageStore.EnsureOnHostAsync(host, manifest, null, c);
            scope.Report.Verbose($"{host.Host.Name}: {(copied ? "uploaded" : "already had")} {manifest.Name}");
            return copied;
        }, ct, (h, _) => holders.Add(h.Name));
        return Info(manifest, holders);
    }

    /// <summary>The images on <paramref name="hosts"/> whose names match <paramref name="names"/> (wildcards; null: all), one read per host.</summary>
    public static async Task<ImageListing> ListAsync(FleetScope scope, IReadOnlyList<HostEntry> hosts, IReadOnlyList<string>? names, CancellationToken ct)
    {
        var found = new Dictionary<string, (ImageManifest Manifest, List<string> Hosts)>();
        await scope.ForEachHostAsync(hosts, "Listing images", ImageStore.ListOnHostAsync, ct, (host, images) =>
        {
            foreach (var m in images)
            {
                if (!found.TryGetValue(m.Name, out var e)) found[m.Name] = e = (m, []);
                e.Hosts.Add(host.Name);
            }
        });
        var images = found.OrderBy(kv => kv.Key)
            .Where(kv => names is null || names.Any(n => Wildcard.IsMatch(kv.Key, n)))
            .Select(kv => Info(kv.Value.Manifest, kv.Value.Hosts)).ToList();
        return new ImageListing(images, found.Keys.ToList());
    }

    /// <summary>
    /// Removes an image from the hosts' image stores, asking for each host; refused (ImageInUse, one error for that host)
    /// where an instance uses it, unless <paramref name="force"/>. An invalid name throws. Returns the hosts it was removed from.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RemoveAsync(FleetScope scope, string name, IReadOnlyList<HostEntry> hosts, bool force, CancellationToken ct)
    {
        ImageStore.HostImageDir(name);
        var asked = hosts.Where(h => scope.Report.ShouldProcess($"{name} on {h.Name}", "Remove image")).ToList();
        var removed = await scope.ForEachHostAsync(asked, $"Removing image {name}", async (host, c) =>
        {
            var users = (await InstanceReader.ReadAsync(host, c)).Where(i => i.Image == name).Select(i => i.Name).ToList();
            if (users.Count > 0 && !force)
                throw new VfException("ImageInUse", FailureKind.InvalidOperation,
                    $"{host.Host.Name}: image {name} is used by {string.Join(", ", users)}; remove them first or use -Force.", host.Host.Name);
            await ImageStore.RemoveFromHostAsync(host, name, c);
            return true;
        }, ct);
        return removed.Keys.Order(StringComparer.Ordinal).ToList();
    }

    private static ImageInfo Info(ImageManifest m, IEnumerable<string> hosts) => new()
    {
        Name = m.Name, OsFamily = m.OsFamily, OsVariant = m.OsVariant, Kernel = m.Kernel is not null,
        VirtualSizeMiB = m.VirtualSize >> 20, Hosts = hosts.Order().ToList(), Manifest = m,
    };
}
