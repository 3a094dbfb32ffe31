using System.Security.Cryptography;
using VirtFleet.HostScripts;
using VirtFleet.Transport;

namespace VirtFleet.ImageBuilds;

/// <summary>
/// The ISOs of image builds on a host: content-addressed files <c>isos/SHA256.iso</c> in VirtFleet's store, uploaded only where
/// missing (the same content under another file name is the same file), to a staging folder, checked against the local
/// checksum, then renamed into place under the host lock, as images are (<see cref="Images.ImageStore"/>).
/// </summary>
public static class IsoStore
{
    /// <summary>The ISO folder on every host.</summary>
    public const string HostDir = HostPaths.Store + "/isos";

    /// <summary>Where an ISO of this content lives on a host.</summary>
    public static string HostPath(string sha256) => HostDir + "/" + ValidateSha(sha256) + ".iso";

    static string ValidateSha(string s) =>
        s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f') ? s
            : throw new VfException("IsoChecksumInvalid", FailureKind.InvalidData, $"'{s}' is not a SHA-256.", s);

    /// <summary>The SHA-256 (hex) of a local file, read once.</summary>
    public static async Task<string> HashAsync(string path, CancellationToken ct)
    {
        await using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct));
    }

    /// <summary>Whether the host holds an ISO of this content (iso-read.sh).</summary>
    public static HostStep<bool> HasStep(string sha256) =>
        HostScript.Load("iso-read").Set("iso", HostPath(sha256)).Reads(r => r.EnsureSuccess("reading the ISO store").Stdout.Trim() == "present");

    /// <summary>
    /// Puts a local ISO on a host unless it holds that content already: staging folder, SFTP upload, checksum, rename under the
    /// host lock; a failed upload's staging folder is removed. Returns false when nothing had to be copied.
    /// </summary>
    public static async Task<bool> EnsureOnHostAsync(IRemoteHost host, string localPath, string sha256, IProgress<long>? progress, CancellationToken ct)
    {
        if (await HasStep(sha256).RunAsync(host, ct)) return false;
        var staging = HostDir + "/." + ValidateSha(sha256) + ".partial";
        (await HostScript.Load("image-stage").Set("staging", staging).Locked().RunAsync(host, ct)).EnsureSuccess("preparing the ISO upload", "IsoUploadFailed");
        try
        {
            await host.UploadAsync(localPath, staging + "/upload.iso", progress, ct);
            (await HostScript.Load("iso-install").Set("staging", staging).Set("sum", sha256).Set("iso", HostPath(sha256))
                .Locked().RunAsync(host, ct)).EnsureSuccess("verifying the uploaded ISO", "IsoVerifyFailed");
        }
        catch
        {
            try { await HostScript.Load("remove-tree").Set("path", staging).Locked(TimeSpan.FromSeconds(30)).RunAsync(host, CancellationToken.None); }
            catch (VfException) { /* the host is gone; the next upload removes the staging folder */ }
            throw;
        }
        return true;
    }
}
