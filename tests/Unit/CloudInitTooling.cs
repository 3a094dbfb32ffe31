using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// Outside tools the CloudInit tests check the seed with, and how to run them. A need is a program
/// on PATH, "py:module" (a Python module for the system python3), or "kernel:iso9660" (root and a
/// kernel that can mount ISO9660 through a loop device).
/// </summary>
internal static class CloudInitTooling
{
    private static readonly Dictionary<string, string> Packages = new()
    {
        ["isoinfo"] = "genisoimage", ["genisoimage"] = "genisoimage", ["blkid"] = "util-linux",
        ["bsdtar"] = "libarchive-tools", ["py:yaml"] = "python3-yaml", ["py:cloudinit"] = "cloud-init",
    };
    private static readonly ConcurrentDictionary<string, bool> Known = new();

    /// <summary>The system Python first: Debian's python3-yaml and cloud-init live there, not in a pyenv.</summary>
    public static string? Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : Find("python3");

    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Concat(["/usr/sbin", "/sbin"])
            .Where(d => d.Length > 0).Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    public static bool Has(string need) => Known.GetOrAdd(need, n => n switch
    {
        _ when n.StartsWith("py:") => Python is { } py && Run(py, null, "-c", "import " + n[3..]).Exit == 0,
        "kernel:iso9660" => Environment.IsPrivilegedProcess && Find("mount") is not null && KernelHasIso9660(),
        _ => Find(n) is not null,
    });

    public static string Hint(string need) => need == "kernel:iso9660"
        ? "loop-mounting needs root and a kernel with the iso9660 driver (this one has none)"
        : $"{need} is absent: apt-get install -y {Packages.GetValueOrDefault(need, need)}";

    private static bool KernelHasIso9660() =>
        File.ReadAllText("/proc/filesystems").Contains("iso9660") ||
        (Run("uname", null, "-r") is { Exit: 0 } u && Directory.Exists($"/lib/modules/{u.Text.Trim()}/kernel/fs/isofs"));

    /// <summary>Runs a program with an argument list (no shell), optionally feeding stdin.</summary>
    public static (int Exit, byte[] Out, string Text, string Err) Run(string program, byte[]? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(Find(program) ?? program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        copy.Wait();
        p.WaitForExit();
        var bytes = output.ToArray();
        return (p.ExitCode, bytes, System.Text.Encoding.UTF8.GetString(bytes), err.Result);
    }

    /// <summary>Runs and asserts success; returns stdout as text.</summary>
    public static string Ok(string program, params string[] args)
    {
        var r = Run(program, null, args);
        Assert.True(r.Exit == 0, $"{program} {string.Join(' ', args)} exited {r.Exit}: {r.Err}");
        return r.Text;
    }

    /// <summary>A temporary directory removed on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("vf-cloudinit-").FullName;
        public string this[string name] => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}

/// <summary>A fact skipped, with the package to install, when a tool it needs is absent.</summary>
public sealed class CloudInitFactAttribute : FactAttribute
{
    public CloudInitFactAttribute(params string[] needs)
    {
        var missing = needs.Where(n => !CloudInitTooling.Has(n)).ToList();
        if (missing.Count > 0) Skip = string.Join("; ", missing.Select(CloudInitTooling.Hint));
    }
}
