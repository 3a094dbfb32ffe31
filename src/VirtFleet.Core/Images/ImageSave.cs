using VirtFleet.HostScripts;
using VirtFleet.Libvirt;

namespace VirtFleet.Images;

/// <summary>What image-save.sh made: the staged files' checksums and the disk's virtual size (Error null: staged).</summary>
public sealed record SavedFiles(Dictionary<string, string> Files, long VirtualSize, VfException? Error);

/// <summary>
/// The host side of Save-VfImage (image-save.sh, under the host lock): a stopped instance's overlay flattened into a staging
/// folder of the host's image store as a new image's own files, with the source image's kernel and initrd beside it.
/// </summary>
public static class ImageSave
{
    /// <summary>The staging folder of a new image on a host (the one an upload of that name uses too).</summary>
    public static string Staging(string image) => HostPaths.Images + "/." + Names.ValidateInstanceName(image) + ".partial";

    /// <summary>The step: stage the files of image <paramref name="image"/> from instance <paramref name="instance"/> (its id as read).</summary>
    public static HostStep<SavedFiles> StageStep(string instance, string instanceId, string image, string? kernel, string? initrd) =>
        HostScript.Load("image-save").Include("instance-actions").Set("vf_ns", VfMetadata.NamespaceUri)
            .Set("inst", Names.ValidateInstanceName(instance)).Args([instanceId]).Set("staging", Staging(image))
            .Set("kernel", kernel is null ? "" : FileName(kernel)).Set("initrd", initrd is null ? "" : FileName(initrd))
            .Locked(TimeSpan.FromMinutes(30), orCommandTimeout: true)
            .Reads(r => Parse(r, instance));

    private static string FileName(string f) =>
        f.Length is > 0 and <= 255 && !f.Contains('/') && !f.StartsWith('.') && !f.Any(char.IsControl) ? f
            : throw new VfException("ImageFileNameInvalid", FailureKind.InvalidData, $"Image file name '{f}' must be a plain file name.", f);

    internal static SavedFiles Parse(HostReply r, string instance)
    {
        r.EnsureSuccess($"saving {instance}'s disk", "ImageSaveFailed");
        var files = r.Lines("FILE").Select(l => l.Split(' ', 2)).Where(a => a.Length == 2)
            .ToDictionary(a => a[1].Trim(), a => a[0].Trim());
        var result = r.Lines("RESULT").Select(l => l.Split(' ', 3)).LastOrDefault(a => a.Length >= 2 && a[0] == instance);
        var msg = result is { Length: > 2 } ? result[2].Trim() : "";
        var host = r.Host.Name;
        return result?[1] switch
        {
            "ok" when files.ContainsKey(ImageManifest.DiskFileName) => new SavedFiles(files, long.TryParse(msg, out var size) ? size : 0, null),
            "running" => new SavedFiles(files, 0, new VfException("InstanceRunning", FailureKind.InvalidOperation, $"{host}: {msg}", instance)),
            "changed" => new SavedFiles(files, 0, new VfException("InstanceChanged", FailureKind.InvalidOperation, $"{host}: {msg}", instance)),
            "notours" => new SavedFiles(files, 0, new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{host}: {msg}", instance)),
            _ => new SavedFiles(files, 0, new VfException("ImageSaveFailed", FailureKind.InvalidOperation,
                $"{host}: saving {instance}'s disk failed: {(msg.Length > 0 ? msg : "no result")}", instance)),
        };
    }
}

/// <summary>The admin machine's copy of an image made on a host (Save-VfImage), so that any host can be given it.</summary>
public static class ImageCache
{
    /// <summary>
    /// Copies the files of <paramref name="manifest"/> from the host's content folder into the local cache: to a staging folder,
    /// each file's SHA-256 checked against the manifest and the disk checked (qcow2, no backing or data file), then renamed
    /// into place. A failure leaves the cache as it was.
    /// </summary>
    public static async Task AddFromHostAsync(Transport.IRemoteHost host, ImageManifest manifest, CancellationToken ct)
    {
        var target = Path.Combine(ImageStore.LocalCacheDir, Names.ValidateInstanceName(manifest.Name));
        var staging = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(staging);
        try
        {
            var dir = ImageStore.HostContentDir(manifest);
            foreach (var (file, sha) in manifest.Files)
            {
                if (file.Contains('/') || file.StartsWith('.')) throw new VfException("ImageFileNameInvalid", FailureKind.InvalidData, $"'{file}' is not a plain file name.", file);
                var local = Path.Combine(staging, file);
                await host.DownloadAsync(dir + "/" + file, local, null, ct);
                await using var s = File.OpenRead(local);
                var got = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(s, ct));
                if (got != sha)
                    throw new VfException("ImageVerifyFailed", FailureKind.InvalidData, $"{host.Host.Name}: {file} of image {manifest.Name} arrived with SHA-256 {got}, not {sha}.", manifest.Name);
            }
            DiskImageCheck.Check(Path.Combine(staging, manifest.Disk));
            await File.WriteAllTextAsync(Path.Combine(staging, "image.json"), manifest.ToJson(), ct);
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
