using System.Security.Cryptography;
using System.Text;
using VirtFleet.HostScripts;
using VirtFleet.Hosts;
using VirtFleet.Libvirt;
using VirtFleet.Transport;

namespace VirtFleet.Images;

/// <summary>
/// The image catalog: a local cache on the admin machine (so any host can be given an image later) and
/// an image folder per image on each host, written under a temporary name, verified, then renamed.
/// </summary>
public static class ImageStore
{
    public static string LocalCacheDir => UserPaths.ImageCache;

    /// <summary>An image's folder on a host: its current manifest (image.json) and one content folder per version.</summary>
    public static string HostImageDir(string name) => HostPaths.Image(name);

    /// <summary>
    /// The folder on a host holding this manifest's files: the version's own folder (immutable once there: an instance's overlay
    /// and kernel point into it), or, for an image installed before versions, the image's folder itself.
    /// </summary>
    public static string HostContentDir(ImageManifest m) =>
        m.Version is null ? HostImageDir(m.Name) : HostImageDir(m.Name) + "/" + ValidateVersion(m.Version);

    /// <summary>The one place that says where an image's root disk is on a host (the base of every instance's overlay).</summary>
    public static string HostDiskPath(ImageManifest m) => HostContentDir(m) + "/" + ValidateFileName(m.Disk);

    static string ValidateVersion(string v) =>
        v.Length is > 2 and <= 40 && v.StartsWith("v-") && v[2..].All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f') ? v
            : throw new VfException("ImageVersionInvalid", FailureKind.InvalidData, $"'{v}' is not an image version.", v);

    static string ValidateFileName(string f) =>
        f.Length is > 0 and <= 255 && !f.Contains('/') && !f.Contains('\\') && !f.StartsWith('.') && !f.Any(char.IsControl) ? f
            : throw new VfException("ImageFileNameInvalid", FailureKind.InvalidArgument, $"Image file name '{f}' must be a plain file name.", f);

    /// <summary>
    /// The manifest a host holds after <see cref="EnsureOnHostAsync"/>: the wanted properties (a re-import may correct them)
    /// on the host's own files when the content is the same, else on the new version.
    /// </summary>
    public static ImageManifest Installed(ImageManifest wanted, ImageManifest? onHost)
    {
        if (onHost is not null && onHost.SameContent(wanted))
        {
            if (onHost.SameProperties(wanted)) return onHost;
            var updated = wanted.Clone();
            (updated.Version, updated.Disk, updated.Imported) = (onHost.Version, onHost.Disk, onHost.Imported);
            return updated;
        }
        if (wanted.Version is not null) return wanted;
        var m = wanted.Clone();
        m.Version = m.ContentVersion();
        return m;
    }

    /// <summary>
    /// Validates a local image (folder with image.json, or a disk plus properties) and caches it locally. The disk may have
    /// any file name (manifest.Disk names it in <paramref name="sourceDir"/>): the cache and the hosts keep it as
    /// <see cref="ImageManifest.DiskFileName"/>.
    /// </summary>
    public static ImageManifest AddToLocalCache(string sourceDir, ImageManifest manifest)
    {
        Names.ValidateInstanceName(manifest.Name);
        var sourceDisk = Path.Combine(sourceDir, manifest.Disk);
        var extra = new[] { manifest.Kernel, manifest.Initrd }.OfType<string>().Select(ValidateFileName).ToList();
        if (extra.Contains(ImageManifest.DiskFileName) || extra.Contains("image.json"))
            throw new VfException("ImageFileNameInvalid", FailureKind.InvalidArgument, $"A kernel or initrd may not be called {ImageManifest.DiskFileName} or image.json.", manifest.Name);
        manifest.VirtualSize = DiskImageCheck.Check(sourceDisk);
        var target = Path.Combine(LocalCacheDir, manifest.Name);
        var staging = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(staging);
        try
        {
            manifest.Files = [];
            manifest.Disk = ImageManifest.DiskFileName;
            foreach (var (src, f) in extra.Select(f => (Path.Combine(sourceDir, f), f)).Prepend((sourceDisk, manifest.Disk)))
            {
                var dst = Path.Combine(staging, f);
                File.Copy(src, dst);
                using var s = File.OpenRead(dst);
                manifest.Files[f] = Convert.ToHexStringLower(SHA256.HashData(s));
            }
            manifest.Version = manifest.ContentVersion();
            manifest.Imported ??= DateTime.UtcNow;
            File.WriteAllText(Path.Combine(staging, "image.json"), manifest.ToJson());
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(staging, target);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        return manifest;
    }

    public static ImageManifest? FromLocalCache(string name)
    {
        var path = Path.Combine(LocalCacheDir, Names.ValidateInstanceName(name), "image.json");
        return File.Exists(path) ? ImageManifest.Parse(File.ReadAllText(path), path) : null;
    }

    /// <summary>The host's manifest of an image, or null when it does not hold it (image-read.sh).</summary>
    public static HostStep<ImageManifest?> ReadStep(string name) =>
        HostScript.Load("image-read").Set("image_json", HostImageDir(name) + "/image.json")
            .Reads(r => r.Stdout.Trim().Length == 0 ? null : ImageManifest.Parse(r.Stdout, $"{r.Host.Name}:{name}/image.json"));

    public static Task<ImageManifest?> ReadFromHostAsync(IRemoteHost host, string name, CancellationToken ct) => ReadStep(name).RunAsync(host, ct);

    /// <summary>
    /// Puts a cached image on a host unless the host already holds the same content. Uploads to a staging folder, checks
    /// checksums and (with the host's qemu-img, always given -f) that the disk has no backing or data file, then, under the
    /// host lock, renames it into its own version folder and makes it the image's current manifest. A version folder is never
    /// replaced: instances made from an earlier content keep their base; versions no domain or overlay refers to any more are
    /// removed. Returns false when nothing had to be copied.
    /// </summary>
    /// <param name="known">The host's manifest of that image as just read (e.g. by a survey); null = read it now.</param>
    public static async Task<bool> EnsureOnHostAsync(IRemoteHost host, ImageManifest manifest, IProgress<long>? progress, CancellationToken ct,
        ImageManifest? known = null)
    {
        var existing = known ?? await ReadFromHostAsync(host, manifest.Name, ct);
        if (existing is not null && existing.SameContent(manifest))
        {
            if (existing.SameProperties(manifest)) return false;
            // The same files with corrected properties (a re-import with -MinMemory, say): only the current manifest changes.
            var updated = Installed(manifest, existing);
            (await HostScript.Load("image-manifest").Set("dir", HostImageDir(manifest.Name)).Input(Encoding.UTF8.GetBytes(updated.ToJson()))
                .Locked().RunAsync(host, ct)).EnsureSuccess("updating image properties", "ImageInstallFailed");
            return true;
        }
        var target = Installed(manifest, null);

        var staging = HostPaths.Images + "/." + manifest.Name + ".partial";
        (await HostScript.Load("image-stage").Set("staging", staging).Locked().RunAsync(host, ct)).EnsureSuccess("preparing image upload");
        var local = Path.Combine(LocalCacheDir, manifest.Name);
        long sent = 0;
        try
        {
            foreach (var file in manifest.Files.Keys)
            {
                var before = sent;
                var perFile = progress is null ? null : new Progress<long>(n => progress.Report(before + n));
                await host.UploadAsync(Path.Combine(local, ValidateFileName(file)), staging + "/" + file, perFile, ct);
                sent += new FileInfo(Path.Combine(local, file)).Length;
            }
            var checks = string.Join("\n", manifest.Files.Select(f => $"{f.Value}  {f.Key}")) + "\n";
            (await HostScript.Load("image-verify").Set("staging", staging).Set("disk", ValidateFileName(manifest.Disk))
                .Input(Encoding.UTF8.GetBytes(checks)).Locked().RunAsync(host, ct)).EnsureSuccess("verifying uploaded image", "ImageVerifyFailed");
            (await HostScript.Load("image-install").Set("staging", staging).Set("dir", HostImageDir(target.Name)).Set("ver", target.Version!)
                .Set("manifest", target.ToJson()).Locked().RunAsync(host, ct)).EnsureSuccess("installing image", "ImageInstallFailed");
        }
        catch
        {
            try { await HostScript.Load("remove-tree").Set("path", staging).Locked(TimeSpan.FromSeconds(30)).RunAsync(host, CancellationToken.None); }
            catch (VfException) { /* the host is gone; the staging folder is removed by the next upload */ }
            throw;
        }
        return true;
    }

    public static async Task<IReadOnlyList<ImageManifest>> ListOnHostAsync(IRemoteHost host, CancellationToken ct)
    {
        var r = (await HostScript.Load("image-list").RunAsync(host, ct)).EnsureSuccess("listing images");
        return r.Stdout.Split(r.Markers["IMAGE"], StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.Trim().Length > 0)
            .Select(s => ImageManifest.Parse(s, $"{host.Host.Name}:image.json")).ToList();
    }

    /// <summary>Removes an image folder from a host (callers check that no instance uses it).</summary>
    public static async Task RemoveFromHostAsync(IRemoteHost host, string name, CancellationToken ct) =>
        (await HostScript.Load("remove-tree").Set("path", HostImageDir(name)).Locked().RunAsync(host, ct)).EnsureSuccess("removing image");
}
