using System.Text;
using System.Text.Json;

namespace VirtFleet.CloudInit;

/// <summary>
/// The seed of a Windows instance: an OpenStack config drive (ISO9660 labelled <c>config-2</c> holding
/// <c>openstack/latest/meta_data.json</c> and <c>openstack/latest/user_data</c>), read at first boot by cloudbase-init.
/// <para>Why a config drive and not NoCloud: cloudbase-init's ConfigDriveService is in its default list of metadata
/// services (a stock install reads it, the NoCloud service must be configured first), and it is the one whose data covers
/// the hostname, user data, the admin user and public keys (NoCloud has no admin user). Neither can post a generated
/// password back (only an HTTP metadata service can), so the password comes from VirtFleet's first-boot script: see
/// <see cref="Windows.FirstBootScript"/>. No admin_pass is written: the host never holds a password.</para>
/// <para>User data: the user's own, passed through (#ps1_sysnative, #ps1, rem cmd, #cloud-config, a MIME message). With a
/// first-boot script too, the two travel as a multipart message, ours first: each script part carries a file name whose
/// extension tells cloudbase-init how to run it.</para>
/// </summary>
public sealed class ConfigDriveSeed
{
    public const string VolumeLabel = "config-2";
    public const string MetaDataPath = "openstack/latest/meta_data.json", UserDataPath = "openstack/latest/user_data";

    /// <summary>The instance id (the config drive's uuid): a new value makes cloudbase-init run its first-boot plugins again.</summary>
    public required string InstanceId { get; init; }
    public required string Hostname { get; init; }
    /// <summary>The user's own user data, passed through.</summary>
    public string? UserData { get; init; }
    /// <summary>VirtFleet's first-boot script (PowerShell, starting #ps1_sysnative), or null for none.</summary>
    public string? FirstBootScript { get; init; }

    public IReadOnlyList<IsoFile> Files()
    {
        var utf8 = new UTF8Encoding(false);
        var files = new List<IsoFile> { new(MetaDataPath, utf8.GetBytes(MetaData())) };
        if (ComposeUserData() is { Length: > 0 } userData) files.Add(new(UserDataPath, utf8.GetBytes(userData)));
        return files;
    }

    /// <summary>The seed image, byte for byte the same for the same inputs and timestamp.</summary>
    public byte[] ToIso(DateTime? timestamp = null) => Iso9660Writer.Build(VolumeLabel, Files(), timestamp);

    /// <summary>meta_data.json: uuid, hostname and name (JSON-encoded by the serializer, never pasted).</summary>
    public string MetaData()
    {
        if (string.IsNullOrWhiteSpace(InstanceId) || string.IsNullOrWhiteSpace(Hostname))
            throw new VfException("SeedValueMissing", FailureKind.InvalidArgument, "InstanceId and Hostname are required for a config drive.");
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["uuid"] = InstanceId, ["hostname"] = Hostname, ["name"] = Hostname, ["launch_index"] = 0,
        }) + "\n";
    }

    /// <summary>user_data as cloudbase-init will read it; empty when there is none.</summary>
    public string ComposeUserData()
    {
        var user = string.IsNullOrWhiteSpace(UserData) ? null : UserData;
        if (FirstBootScript is null) return user ?? "";
        if (user is null) return FirstBootScript;
        return MimeMultipart.Build([new MimePart("text/x-shellscript", FirstBootScript, "virtfleet-first-boot.ps1"), UserPart(user)]);
    }

    // The user's data as cloudbase-init's multipart handling sees it: cloud-config by type, a script by its file's extension.
    private static MimePart UserPart(string userData)
    {
        if (NoCloudSeed.ContentType(userData) == "multipart") return new MimePart("multipart", userData);
        var first = userData.TrimStart();
        if (first.StartsWith("#cloud-config", StringComparison.OrdinalIgnoreCase)) return new MimePart("text/cloud-config", userData);
        var extension = first.StartsWith("#ps1", StringComparison.OrdinalIgnoreCase) ? "ps1"
            : first.StartsWith("rem cmd", StringComparison.OrdinalIgnoreCase) ? "cmd"
            : first.StartsWith("#!", StringComparison.Ordinal) ? "sh"
            : throw new VfException("UserDataUnknownFormat", FailureKind.InvalidArgument,
                "Windows user data must start with #ps1_sysnative, #ps1_x86, #ps1, rem cmd, #! or #cloud-config, or be a MIME message; cloudbase-init ignores anything else.");
        return new MimePart("text/x-shellscript", userData, "user-data." + extension);
    }
}
