using VirtFleet.Model;
using Xunit;

namespace VirtFleet.Tests.Lab;

/// <summary>Images as users bring them: their own file names, and re-imports of an image instances run on.</summary>
[Collection("lab3")]
public class ImageLabTests : IDisposable
{
    private readonly ThreeHostLab _lab;
    private readonly string _tmp = Directory.CreateTempSubdirectory("vf-img-").FullName;
    private readonly List<string> _images = [];

    public ImageLabTests(ThreeHostLab lab) => _lab = lab;

    public void Dispose()
    {
        _lab.Shell.Run("Get-VfInstance | Remove-VfInstance -Confirm:$false");
        foreach (var i in _images) _lab.Shell.Run($"Remove-VfImage {i} -Confirm:$false");
        Directory.Delete(_tmp, recursive: true);
    }

    private List<Instance> Instances(string script, IDictionary<string, object?>? v = null) =>
        _lab.Shell.Ok(script, v).Select(o => (Instance)o.BaseObject).ToList();

    /// <summary>The base file an instance's overlay points to, and its SHA-256, read on the instance's host.</summary>
    private (string Path, string Sha) Base(Instance i)
    {
        var (code, info) = _lab.InHost(i.Host, $"qemu-img info -U -f qcow2 --output=json /var/lib/libvirt/virtfleet/instances/{i.Name}/root.qcow2");
        Assert.True(code == 0, info);
        var path = System.Text.Json.JsonDocument.Parse(info).RootElement.GetProperty("backing-filename").GetString()!;
        var (c2, sum) = _lab.InHost(i.Host, $"sha256sum -- '{path}'");
        Assert.True(c2 == 0, sum);
        return (path, sum.Split(' ')[0]);
    }

    private string Copy(string source, string fileName)
    {
        var path = Path.Combine(_tmp, fileName);
        File.Copy(source, path, overwrite: true);
        return path;
    }

    [Theory]
    [InlineData("Windows", "My Server 2008.qcow2", "usrwin")]
    [InlineData("Linux", "ubuntu-22.04-cloudimg.img", "usrlin")]
    public void ImageFromAFileOfAnyNameRuns(string os, string fileName, string image)
    {
        var disk = Copy(Path.Combine(os == "Windows" ? GuestImages.Windows : GuestImages.Linux, "disk.qcow2"), fileName);
        _images.Add(image);
        // As a user names a Windows Server 2008 R2 image (its profile runs in the default instance type; a bare Windows one wants 2 GiB).
        _lab.Shell.Ok($"Import-VfImage -Path $p -Name $n -OsFamily $os {(os == "Windows" ? "-OsVariant win2k8r2" : "")} | Out-Null",
            new Dictionary<string, object?> { ["p"] = disk, ["n"] = image, ["os"] = os });
        var made = Instances($"New-VfInstance -Image {image} -Name {image}-1 -NoNetwork");
        var i = Assert.Single(made);
        Assert.Equal(InstanceState.Running, i.State);
        Assert.Equal(InstanceState.Running, Assert.Single(Instances($"Get-VfInstance {image}-1")).State);
        Assert.StartsWith($"/var/lib/libvirt/virtfleet/images/{image}/", Base(i).Path);
    }

    [Fact]
    public void ReimportOfAnImageInUseLeavesRunningGuestsBaseUntouched()
    {
        _images.Add("reimg");
        var first = Path.Combine(_tmp, "first");
        var second = Path.Combine(_tmp, "second");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        foreach (var f in Directory.GetFiles(GuestImages.Linux)) File.Copy(f, Path.Combine(first, Path.GetFileName(f)));
        foreach (var f in Directory.GetFiles(GuestImages.Linux)) File.Copy(f, Path.Combine(second, Path.GetFileName(f)));
        // The same name, another content: a bigger blank disk.
        var (code, output) = LabFixture.Sh($"qemu-img create -q -f qcow2 '{second}/disk.qcow2' 80M");
        Assert.True(code == 0, output);

        _lab.Shell.Ok("Import-VfImage -Path $p -Name reimg | Out-Null", new Dictionary<string, object?> { ["p"] = first });
        var old = Assert.Single(Instances("New-VfInstance -Image reimg -Name reimg-old -InstanceType t1.micro -Host vfh1 -NoNetwork"));
        var before = Base(old);

        _lab.Shell.Ok("Import-VfImage -Path $p -Name reimg | Out-Null", new Dictionary<string, object?> { ["p"] = second });
        Assert.Equal(before, Base(old));
        Assert.Equal(InstanceState.Running, Assert.Single(Instances("Get-VfInstance reimg-old")).State);

        var @new = Assert.Single(Instances("New-VfInstance -Image reimg -Name reimg-new -InstanceType t1.micro -Host vfh1 -NoNetwork"));
        var after = Base(@new);
        Assert.NotEqual(before.Path, after.Path);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(second, "disk.qcow2")))), after.Sha);

        // The old version goes once nothing uses it (with the next import on that host).
        _lab.Shell.Ok("Remove-VfInstance reimg-old -Confirm:$false");
        Assert.True(LabFixture.Sh($"qemu-img create -q -f qcow2 '{first}/disk.qcow2' 96M").Code == 0);
        _lab.Shell.Ok("Import-VfImage -Path $p -Name reimg | Out-Null", new Dictionary<string, object?> { ["p"] = first });
        Assert.NotEqual(0, _lab.InHost("vfh1", $"test -e '{before.Path}'").Code);
        Assert.Equal(after, Base(@new));
    }
}
