using System.Management.Automation;
using System.Text.RegularExpressions;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>The built module as PowerShell sees it: manifest, exports, verbs, help, -WhatIf.</summary>
public class ModuleTests
{
    [Fact]
    public void ModuleImportsAndExportsOnlyApprovedVerbs()
    {
        using var ps = new PowerShellHost();
        // The approved verbs are the constants of the engine's Verbs* classes (what Get-Verb lists).
        var approved = new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic),
                typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
            .SelectMany(t => t.GetFields()).Select(f => (string)f.GetValue(null)!).ToHashSet();
        var commands = ps.Ok("Get-Command -Module VirtFleet").Select(o => (CommandInfo)o.BaseObject).ToList();
        Assert.NotEmpty(commands);
        Assert.All(commands, c =>
        {
            Assert.Contains(c.Name.Split('-')[0], approved);
            Assert.StartsWith("Vf", c.Name.Split('-')[1]);
        });
    }

    [Fact]
    public void ManifestListsExactlyTheCmdletsTheAssemblyDefines()
    {
        using var ps = new PowerShellHost();
        var exported = ps.Ok("(Get-Module VirtFleet).ExportedCmdlets.Keys").Select(o => o.ToString()).Order().ToList();
        var asmPath = Path.Combine(PowerShellHost.RepoRoot, "out", "VirtFleet", "VirtFleet.Cmdlets.dll");
        var defined = ps.Ok($"(Import-Module '{asmPath}' -PassThru -Force -Prefix X).ExportedCmdlets.Values.Name")
            .Select(o => o.ToString()!.Replace("-XVf", "-Vf")).Order().ToList();
        Assert.Equal(defined, exported);
    }

    [Fact]
    public void VersionComesFromDirectoryBuildProps()
    {
        using var ps = new PowerShellHost();
        var version = ps.Ok("(Get-Module VirtFleet).Version.ToString()").Single().ToString();
        var props = File.ReadAllText(Path.Combine(PowerShellHost.RepoRoot, "Directory.Build.props"));
        Assert.Equal(Regex.Match(props, "<VersionPrefix>(.*?)</VersionPrefix>").Groups[1].Value, version);
    }

    [Fact]
    public void EveryStateChangingCmdletSupportsWhatIf()
    {
        using var ps = new PowerShellHost();
        var readOnlyVerbs = new HashSet<string> { "Get", "Test", "Find", "Show", "Measure", "Resolve", "Compare", "Wait" };
        foreach (var c in ps.Ok("Get-Command -Module VirtFleet").Select(o => (CmdletInfo)o.BaseObject))
        {
            if (readOnlyVerbs.Contains(c.Verb)) continue;
            Assert.True(c.Parameters.ContainsKey("WhatIf"), $"{c.Name} lacks -WhatIf");
        }
    }

    [Fact]
    public void CoreLoadsInAPrivateLoadContextInTheModuleFolder()
    {
        using var ps = new PowerShellHost();
        // Core resolves from out/VirtFleet/deps (or, in this test process, the test's own copy).
        var files = Directory.GetFiles(Path.Combine(PowerShellHost.RepoRoot, "out", "VirtFleet", "deps")).Select(Path.GetFileName).ToList();
        Assert.Contains("VirtFleet.Core.dll", files);
        Assert.Contains("Renci.SshNet.dll", files);
        Assert.Contains("YamlDotNet.dll", files);
        Assert.DoesNotContain("System.Management.Automation.dll", files);
        Assert.False(File.Exists(Path.Combine(PowerShellHost.RepoRoot, "out", "VirtFleet", "Renci.SshNet.dll")));
    }
}
