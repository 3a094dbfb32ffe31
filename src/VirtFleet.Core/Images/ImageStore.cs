using System.Security.Cryptography;
using VirtFleet.Hosts;
using VirtFleet.Libvirt;
using VirtFleet.Transport;

namespace VirtFleet.Images;

/// <summary>An image as found on the fleet: its manifest and the hosts that hold it.</summary>
public sealed class ImageInfo
{
    public string Name { get; init; } = "";
    public string OsFamily { get; init; } = "";
    public string? OsVariant { get; init; }
    public bool Kernel { get; init; }
    public long VirtualSizeMiB { get; init; }
    public List<string> Hosts { get; init; } = [];
    public ImageManifest Manifest { get; init; } = new();
}

/// <summary>
/// The image catalog: a local cache on the admin machine (so any host can be given an image later) and
/// an image folder per image on each host, written under a temporary name, verified, then renamed.
/// </summary>
public static class ImageStore
{
    public const string HostImagesDir = HostProbe.StorePath + "/images";

    public static string LocalCacheDir =>
        Environment.GetEnvironmentVariable("VIRTFLEET_IMAGE_CACHE") is { Length: > 0 } d ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "VirtFleet", "images");

    public static string HostImageDir(string name) => HostImagesDir + "/" + Names.ValidateInstanceName(name);

    /// <summary>Validates a local image (folder with image.json, or a disk plus properties) and caches it locally.</summary>
    public static ImageManifest AddToLocalCache(string sourceDir, ImageManifest manifest)
    {
        Names.ValidateInstanceName(manifest.Name);
        var files = new[] { manifest.Disk, manifest.Kernel, manifest.Initrd }.OfType<string>().ToList();
        foreach (var f in files)
            if (f.Contains('/') || f.Contains('\\') || f.StartsWith('.'))
                throw new VfException("ImageFileNameInvalid", FailureKind.InvalidArgument, $"Image file name '{f}' must be a plain file name.");
        manifest.VirtualSize = DiskImageCheck.Check(Path.Combine(sourceDir, manifest.Disk));
        var target = Path.Combine(LocalCacheDir, manifest.Name);
        var staging = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(staging);
        try
        {
            manifest.Files = [];
            foreach (var f in files)
            {
                var dst = Path.Combine(staging, f);
                File.Copy(Path.Combine(sourceDir, f), dst);
                using var s = File.OpenRead(dst);
                manifest.Files[f] = Convert.ToHexStringLower(SHA256.HashData(s));
            }
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

    /// <summary>The host's manifest of an image, or null when it does not hold it.</summary>
    public static async Task<ImageManifest?> ReadFromHostAsync(IRemoteHost host, string name, CancellationToken ct)
    {
        var r = await host.RunAsync("cat -- " + ShellQuote.Quote(HostImageDir(name) + "/image.json") + " 2>/dev/null || true", ct);
        return r.Stdout.Trim().Length == 0 ? null : ImageManifest.Parse(r.Stdout, $"{host.Host.Name}:{name}/image.json");
    }

    /// <summary>
    /// Puts a cached image on a host unless the host already holds the same content. Uploads to a
    /// staging folder, checks checksums and (with the host's qemu-img, always given -f) that the disk has no
    /// backing or data file, then renames into place. Returns false when nothing had to be copied.
    /// </summary>
    /// <param name="known">The host's manifest of that image as just read (e.g. by a survey); null = read it now.</param>
    public static async Task<bool> EnsureOnHostAsync(IRemoteHost host, ImageManifest manifest, IProgress<long>? progress, CancellationToken ct,
        ImageManifest? known = null)
    {
        var existing = known ?? await ReadFromHostAsync(host, manifest.Name, ct);
        if (existing is not null && existing.SameContent(manifest)) return false;

        var dir = HostImageDir(manifest.Name);
        var staging = HostImagesDir + "/." + manifest.Name + ".partial";
        var q = ShellQuote.Quote;
        (await host.RunAsync($"rm -rf -- {q(staging)} && mkdir -p -- {q(staging)}", ct)).EnsureSuccess(host.Host.Name, "preparing image upload");
        var local = Path.Combine(LocalCacheDir, manifest.Name);
        long sent = 0;
        try
        {
            foreach (var file in manifest.Files.Keys)
            {
                var before = sent;
                var perFile = progress is null ? null : new Progress<long>(n => progress.Report(before + n));
                await host.UploadAsync(Path.Combine(local, file), staging + "/" + file, perFile, ct);
                sent += new FileInfo(Path.Combine(local, file)).Length;
            }
            var checks = string.Join("\n", manifest.Files.Select(f => $"{f.Value}  {f.Key}")) + "\n";
            var verify = $"""
                cd -- {q(staging)} || exit 1
                sha256sum -c --quiet - || {'{'} echo 'checksum mismatch after upload' >&2; exit 2; {'}'}
                info=$(qemu-img info -f qcow2 --output=json -- {q(manifest.Disk)}) || exit 3
                case "$info" in *'"backing-filename"'*|*'"data-file"'*) echo 'image has a backing or data file' >&2; exit 4 ;; esac
                """;
            (await host.RunAsync(verify, ct, System.Text.Encoding.UTF8.GetBytes(checks))).EnsureSuccess(host.Host.Name, "verifying uploaded image", "ImageVerifyFailed");
            var install = $"""
                printf '%s' {q(manifest.ToJson())} > {q(staging)}/image.json &&
                rm -rf -- {q(dir)} && mv -- {q(staging)} {q(dir)}
                """;
            (await host.RunAsync(install, ct)).EnsureSuccess(host.Host.Name, "installing image");
        }
        catch
        {
            try { await host.RunAsync($"rm -rf -- {q(staging)}", CancellationToken.None, timeout: TimeSpan.FromSeconds(30)); }
            catch (VfException) { /* the host is gone; the staging folder is removed by the next upload */ }
            throw;
        }
        return true;
    }

    private const string ListScript = """
        for f in STORE/*/image.json; do
          [ -e "$f" ] || continue
          echo '@@VF-IMAGE@@'
          cat "$f"
        done
        exit 0
        """;

    public static async Task<IReadOnlyList<ImageManifest>> ListOnHostAsync(IRemoteHost host, CancellationToken ct)
    {
        var r = await host.RunAsync(ListScript.Replace("STORE", HostImagesDir), ct);
        r.EnsureSuccess(host.Host.Name, "listing images");
        return r.Stdout.Split("@@VF-IMAGE@@", StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.Trim().Length > 0)
            .Select(s => ImageManifest.Parse(s, $"{host.Host.Name}:image.json")).ToList();
    }

    /// <summary>Removes an image folder from a host (callers check that no instance uses it).</summary>
    public static async Task RemoveFromHostAsync(IRemoteHost host, string name, CancellationToken ct) =>
        (await host.RunAsync("rm -rf -- " + ShellQuote.Quote(HostImageDir(name)), ct)).EnsureSuccess(host.Host.Name, "removing image");
}
