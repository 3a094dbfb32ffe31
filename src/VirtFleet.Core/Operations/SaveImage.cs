using VirtFleet.HostScripts;
using VirtFleet.Images;
using VirtFleet.Model;

namespace VirtFleet.Operations;

/// <summary>An instance whose disk becomes a new image.</summary>
public sealed class SaveImageRequest
{
    /// <summary>The instance as read (Get-VfInstance), or null to look <see cref="InstanceName"/> up.</summary>
    public Instance? Instance { get; init; }
    /// <summary>The instance's name or id (no wildcards), looked up on <see cref="SearchHosts"/>.</summary>
    public string? InstanceName { get; init; }
    public IReadOnlyList<HostEntry> SearchHosts { get; init; } = [];
    /// <summary>The new image's name.</summary>
    public required string Name { get; init; }
    /// <summary>Replace an image of that name in the local cache (hosts keep versions their instances use).</summary>
    public bool Force { get; init; }
}

/// <summary>
/// Save-VfImage: a stopped instance's disk, flattened on its host (qemu-img convert: its own copy of every block, never a
/// backing reference into another image or instance, no checkpoint), becomes a new catalog image with the source image's
/// properties (OS family and variant, firmware, buses, NIC model, minimum memory, virtio drivers, kernel and initrd for a
/// direct-kernel-boot image). The files are checksummed on the host, installed as a version of the new image there, and copied
/// into the admin's local cache (checksums checked again) so New-VfInstance can put it on any host, as an imported image.
/// A running instance is refused: its disk is not consistent while the guest writes; stop it first.
/// </summary>
public static class SaveImage
{
    public static async Task<ImageInfo?> RunAsync(FleetScope scope, SaveImageRequest request, CancellationToken ct)
    {
        Libvirt.Names.ValidateInstanceName(request.Name);
        var inst = request.Instance;
        if (inst is null)
        {
            var n = request.InstanceName ?? throw new ArgumentException("an instance or its name is required", nameof(request));
            if (Wildcard.HasWildcards(n))
                throw new VfException("InstanceNameAmbiguous", FailureKind.InvalidArgument, $"Give one instance to save, not a pattern ('{n}').", n);
            var silent = new List<string>();
            var found = await ListInstances.RunAsync(scope, new ListInstancesRequest { Hosts = request.SearchHosts, Names = [n], All = true }, ct,
                activity: "Finding the instance", unanswered: silent);
            inst = found.Count switch
            {
                0 => throw ListInstances.NotFound(n, silent),
                1 => found[0],
                _ => throw new VfException("InstanceNameAmbiguous", FailureKind.InvalidArgument,
                    $"'{n}' names instances on {string.Join(", ", found.Select(f => f.Host))}; select the host with -Host.", n),
            };
        }
        if (!inst.IsVirtFleet || inst.InstanceId is null)
            throw new VfException("NotCreatedByVirtFleet", FailureKind.InvalidOperation, $"{inst.Host}: {inst.Name} was not created by VirtFleet; it is not saved.", inst.Name);
        if (inst.State is not InstanceState.Stopped)
            throw new VfException("InstanceRunning", FailureKind.InvalidOperation,
                $"{inst.Host}: {inst.Name} is {inst.State.ToString().ToLowerInvariant()}: a running guest's disk is not consistent; stop it first (Stop-VfInstance).", inst.Name);
        if (ImageStore.FromLocalCache(request.Name) is not null && !request.Force)
            throw new VfException("ImageExists", FailureKind.ResourceExists,
                $"An image named {request.Name} is in the catalog already; choose another name, or use -Force to replace it.", request.Name);
        var hostEntry = scope.Inventory.Find(inst.Host)
            ?? throw new VfException("HostNotFound", FailureKind.ObjectNotFound, $"Host '{inst.Host}' is not in {scope.Inventory.Path}.", inst.Host);
        if (!scope.Report.ShouldProcess($"{inst.Name} on {inst.Host}", $"Save its disk as image {request.Name}")) return null;

        var remote = scope.Connect(hostEntry);
        // The source image's properties: the catalog's copy, else the host's.
        var source = inst.Image is { } img ? ImageStore.FromLocalCache(img) ?? await ImageStore.ReadFromHostAsync(remote, img, ct) : null;
        if (source is null)
            throw new VfException("ImageNotFound", FailureKind.ObjectNotFound,
                $"{inst.Name} was made from image '{inst.Image}', which is neither in the local cache nor on {inst.Host}: its properties are unknown.", inst.Name);

        scope.Report.Verbose($"{inst.Host}: flattening {inst.Name}'s disk");
        var saved = await ImageSave.StageStep(inst.Name, inst.InstanceId, request.Name, source.Kernel, source.Initrd).RunAsync(remote, ct);
        if (saved.Error is not null) throw saved.Error;
        var manifest = source.Clone();
        (manifest.Name, manifest.Disk, manifest.Files, manifest.VirtualSize, manifest.Imported) =
            (request.Name, ImageManifest.DiskFileName, saved.Files, saved.VirtualSize, DateTime.UtcNow);
        manifest.Version = manifest.ContentVersion();
        try
        {
            (await HostScript.Load("image-install").Set("staging", ImageSave.Staging(request.Name)).Set("dir", ImageStore.HostImageDir(request.Name))
                .Set("ver", manifest.Version).Set("manifest", manifest.ToJson()).Locked().RunAsync(remote, ct))
                .EnsureSuccess("installing the saved image", "ImageInstallFailed");
        }
        catch
        {
            try { await HostScript.Load("remove-tree").Set("path", ImageSave.Staging(request.Name)).Locked(TimeSpan.FromSeconds(30)).RunAsync(remote, CancellationToken.None); }
            catch (VfException) { /* the host is gone; the next save or upload of that name removes the staging folder */ }
            throw;
        }
        scope.Report.Verbose($"{inst.Host}: image {request.Name} installed ({manifest.Version}); copying it into the local cache");
        await ImageCache.AddFromHostAsync(remote, manifest, ct);
        return new ImageInfo
        {
            Name = manifest.Name, OsFamily = manifest.OsFamily, OsVariant = manifest.OsVariant, Kernel = manifest.Kernel is not null,
            VirtualSizeMiB = manifest.VirtualSize >> 20, Hosts = [inst.Host], Manifest = manifest,
        };
    }
}
