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
    public void ManifestClaimsThePowerShellVersionTheBuildNeedsAndExportsExplicitly()
    {
        // The manifest as written (module/VirtFleet.psd1), read with PowerShell's own parser.
        var path = Path.Combine(PowerShellHost.RepoRoot, "module", "VirtFleet.psd1");
        var ast = System.Management.Automation.Language.Parser.ParseFile(path, out _, out var errors);
        Assert.Empty(errors);
        var manifest = (System.Collections.Hashtable)ast.Find(a => a is System.Management.Automation.Language.HashtableAst, false)!.SafeGetValue();

        // The build compiles against System.Management.Automation X.Y.*: an older pwsh cannot load it.
        var csproj = File.ReadAllText(Path.Combine(PowerShellHost.RepoRoot, "src", "VirtFleet.Cmdlets", "VirtFleet.Cmdlets.csproj"));
        var sma = Version.Parse(Regex.Match(csproj, "\"System.Management.Automation\" Version=\"([0-9.]+)\"").Groups[1].Value);
        Assert.Equal($"{sma.Major}.{sma.Minor}", manifest["PowerShellVersion"]);

        // PSScriptAnalyzer's manifest rules: the required fields (PSMissingModuleManifestField), no deprecated ones
        // (PSAvoidUsingDeprecatedManifestFields), and every *ToExport an explicit list without wildcards (PSUseToExportFieldsInManifest).
        foreach (var field in new[] { "ModuleVersion", "GUID", "Author", "Description", "RootModule", "CompatiblePSEditions" })
            Assert.True(manifest.ContainsKey(field), $"manifest lacks {field}");
        Assert.False(manifest.ContainsKey("ModuleToProcess"), "ModuleToProcess is deprecated: use RootModule");
        foreach (var field in new[] { "CmdletsToExport", "FunctionsToExport", "AliasesToExport", "VariablesToExport" })
        {
            Assert.True(manifest.ContainsKey(field), $"manifest lacks {field}");
            var list = Assert.IsType<object[]>(manifest[field]);
            Assert.All(list, o => Assert.DoesNotContain("*", (string)o));
        }
        Assert.Equal(["Core"], (object[])manifest["CompatiblePSEditions"]!);
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
    public void OneParameterNameHasOneTypeAcrossTheModule()
    {
        using var ps = new PowerShellHost();
        // A name (or alias) means one kind of value everywhere: string and string[] agree, int and int? agree,
        // but -Port as a number here and a range text there does not, nor -Network as a switch here and a name there.
        static Type Kind(Type t)
        {
            t = t.IsArray ? t.GetElementType()! : t;
            return Nullable.GetUnderlyingType(t) ?? t;
        }
        var uses = new Dictionary<string, List<(string Cmdlet, Type Type)>>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in ps.Ok("Get-Command -Module VirtFleet").Select(o => (CmdletInfo)o.BaseObject))
            foreach (var p in c.Parameters.Values)
                foreach (var name in p.Aliases.Prepend(p.Name))
                    (uses.TryGetValue(name, out var l) ? l : uses[name] = []).Add((c.Name, Kind(p.ParameterType)));
        var mixed = uses.Where(u => u.Value.Select(x => x.Type).Distinct().Count() > 1)
            .Select(u => $"-{u.Key}: " + string.Join(", ", u.Value.Select(x => $"{x.Cmdlet} {x.Type.Name}"))).ToList();
        Assert.True(mixed.Count == 0, "parameter names with more than one type:\n" + string.Join("\n", mixed));
    }

    [Fact]
    public void CmdletsFollowTheCmdletDesignRules()
    {
        // PSScriptAnalyzer's CmdletDesign rules checked on the compiled cmdlets (it cannot read C#): PascalCase
        // parameter names, an OutputType on every cmdlet that writes objects, ConfirmImpact High or Medium on removals.
        using var ps = new PowerShellHost();
        var writesNothing = new HashSet<string> { "Disconnect-VfHost", "Remove-VfAddress", "Remove-VfHost", "Remove-VfImage",
            "Remove-VfKeyPair", "Remove-VfNetwork", "Remove-VfSecurityGroup", "Stop-VfLab" };
        foreach (var c in ps.Ok("Get-Command -Module VirtFleet").Select(o => (CmdletInfo)o.BaseObject))
        {
            foreach (var p in c.Parameters.Keys)
                Assert.Matches("^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$", p);
            if (!writesNothing.Contains(c.Name)) Assert.True(c.OutputType.Count > 0, $"{c.Name} declares no OutputType");
            var attr = (CmdletAttribute)Attribute.GetCustomAttribute(c.ImplementingType, typeof(CmdletAttribute))!;
            if (c.Verb == "Remove")
                Assert.True(attr.ConfirmImpact >= ConfirmImpact.Medium, $"{c.Name}: ConfirmImpact {attr.ConfirmImpact}");
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

/// <summary>Inventory cmdlets as a user types them (the Pester spec's twin for machines without pwsh).</summary>
public class HostCmdletTests
{
    [Fact]
    public void AddListChangeRemoveAndWhatIf()
    {
        using var ps = new PowerShellHost();
        var inv = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.yml");
        var v = new Dictionary<string, object?> { ["inv"] = inv };
        ps.Ok("Add-VfHost -Name hv1 -Address 198.51.100.11 -Tag rack1 -Inventory $inv; Add-VfHost hv2 198.51.100.12 -Inventory $inv", v);
        Assert.Equal(2, ps.Ok("Get-VfHost -Inventory $inv", v).Count);
        Assert.Equal("hv1", ps.Ok("(Get-VfHost -Tag rack1 -Inventory $inv).Name", v).Single().ToString());
        ps.Ok("Set-VfHost -Name hv2 -Port 2222 -Inventory $inv", v);
        Assert.Equal(2222, (int)ps.Ok("(Get-VfHost hv2 -Inventory $inv).Port", v).Single().BaseObject);
        ps.Ok("Add-VfHost hv3 198.51.100.13 -Inventory $inv -WhatIf", v);
        Assert.Equal(2, ps.Ok("Get-VfHost -Inventory $inv", v).Count);
        ps.Ok("Get-VfHost hv* -Inventory $inv | Remove-VfHost -Inventory $inv -Confirm:$false", v);
        Assert.Empty(ps.Ok("Get-VfHost -Inventory $inv", v));
    }

    [Fact]
    public void SetVfHostSudoIsAPlainSwitchAndAbsentLeavesItUnchanged()
    {
        using var ps = new PowerShellHost();
        var inv = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.yml");
        var v = new Dictionary<string, object?> { ["inv"] = inv };
        bool Sudo() => (bool)ps.Ok("(Get-VfHost hv1 -Inventory $inv).Sudo", v).Single().BaseObject;
        ps.Ok("Add-VfHost hv1 198.51.100.11 -User ops -Inventory $inv", v);
        Assert.False(Sudo());
        ps.Ok("Set-VfHost hv1 -Sudo -Inventory $inv", v);
        Assert.True(Sudo());
        ps.Ok("Set-VfHost hv1 -Port 2222 -Inventory $inv", v);
        Assert.True(Sudo());
        ps.Ok("Set-VfHost hv1 -Sudo:$false -Inventory $inv", v);
        Assert.False(Sudo());
        File.Delete(inv);
    }

    [Theory]
    [InlineData("a;touch /tmp/x")]
    [InlineData("$(id)")]
    [InlineData("-oProxyCommand=x")]
    public void HostileNamesAreTerminatingInvalidArgument(string name)
    {
        using var ps = new PowerShellHost();
        var r = ps.Run("Add-VfHost -Name $n -Address 198.51.100.14 -Inventory $inv",
            new Dictionary<string, object?> { ["n"] = name, ["inv"] = Path.GetTempFileName() });
        var e = Assert.Single(r.Errors);
        Assert.Equal("InvalidHostName,VirtFleet.Cmdlets.Commands.AddVfHostCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void TestVfHostTestsThePipedInstancesHostNotAHostNamedLikeTheInstance()
    {
        using var ps = new PowerShellHost();
        var inv = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.yml");
        // An instance (Get-VfInstance) has Name and Host: both bind by property name; the host is what gets tested.
        var r = ps.Run("Add-VfHost lo 127.0.0.1 -Port 1 -Inventory $inv | Out-Null; [pscustomobject]@{ Name = 'web1'; Host = 'lo' } | Test-VfHost -Inventory $inv -ConnectTimeout 2",
            new Dictionary<string, object?> { ["inv"] = inv });
        // One error, about host lo (refused, or no key to offer): not silence for a host named web1.
        Assert.Equal("lo", Assert.Single(r.Errors).TargetObject);
        File.Delete(inv);
    }

    [Fact]
    public void AddVfHostAcceptNewHostKeyAddsNothingWhenTheHostCannotBeReached()
    {
        using var ps = new PowerShellHost();
        var inv = Path.Combine(Path.GetTempPath(), $"vf-{Guid.NewGuid()}.yml");
        var kh = Path.GetTempFileName();
        File.WriteAllText(inv, $"knownHosts: {kh}\n");
        var v = new Dictionary<string, object?> { ["inv"] = inv };
        // 127.0.0.1:1 refuses at once: one error for the host, and the inventory stays as it was.
        var r = ps.Run("Add-VfHost lo 127.0.0.1 -Port 1 -Inventory $inv -AcceptNewHostKey", v);
        Assert.Equal("lo", Assert.Single(r.Errors).TargetObject);
        Assert.Empty(r.Output);
        Assert.Empty(ps.Ok("Get-VfHost -Inventory $inv", v));
        Assert.Equal(0, new FileInfo(kh).Length);
        // -WhatIf connects to nothing and adds nothing.
        Assert.Empty(ps.Run("Add-VfHost lo 127.0.0.1 -Port 1 -Inventory $inv -AcceptNewHostKey -WhatIf", v).Errors);
        Assert.Empty(ps.Ok("Get-VfHost -Inventory $inv", v));
        File.Delete(inv);
    }

    [Theory]
    [InlineData("Get-VfNetwork")]
    [InlineData("Get-VfSecurityGroup")]
    [InlineData("Get-VfAddress")]
    public void CmdletsThatBuildTheirScopeInTheBackgroundWriteVerboseFromThePipelineThread(string command)
    {
        // Their fleet scope is made inside RunAsync, on a worker thread: the keeper line it writes for -Verbose must be
        // posted to the pipeline thread (a direct WriteVerbose there is a PSInvalidOperationException, not the host's error).
        using var ps = new PowerShellHost();
        var inv = Path.GetTempFileName();
        var key = Path.Combine(Directory.CreateTempSubdirectory().FullName, "id");
        System.Diagnostics.Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])!.WaitForExit();
        var r = ps.Run($"Add-VfHost lo 127.0.0.1 -Port 1 -KeyFile $key -Inventory $inv | Out-Null; {command} -Inventory $inv -ConnectTimeout 2 -Verbose",
            new Dictionary<string, object?> { ["inv"] = inv, ["key"] = key });
        Assert.All(r.Errors, e => Assert.IsNotType<PSInvalidOperationException>(e.Exception));
        Assert.Equal(ErrorCategory.ConnectionError, Assert.Single(r.Errors).CategoryInfo.Category);
    }

    [Fact]
    public void UnreachableHostIsOneConnectionErrorNotAHang()
    {
        using var ps = new PowerShellHost();
        var inv = Path.GetTempFileName();
        var key = Path.Combine(Directory.CreateTempSubdirectory().FullName, "id");
        System.Diagnostics.Process.Start("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])!.WaitForExit();
        // 127.0.0.1:1 refuses at once: a per-host ConnectionError, the command still ends normally.
        var r = ps.Run("Add-VfHost lo 127.0.0.1 -Port 1 -KeyFile $key -Inventory $inv | Out-Null; Test-VfHost -Inventory $inv -ConnectTimeout 2",
            new Dictionary<string, object?> { ["inv"] = inv, ["key"] = key });
        var e = Assert.Single(r.Errors);
        Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
        Assert.Equal("lo", e.TargetObject);
    }
}
