using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using Xunit;

namespace VirtFleet.Tests;

/// <summary>
/// The cmdlets' help comes from their doc comments: this turns them into the MAML file PowerShell reads
/// (module/en-US/VirtFleet.Cmdlets.dll-Help.xml) and checks it is current. VF_UPDATE_HELP=1 rewrites it.
/// </summary>
public class HelpTests
{
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
    private static string HelpFile => Path.Combine(PowerShellHost.RepoRoot, "module", "en-US", "VirtFleet.Cmdlets.dll-Help.xml");

    [Fact]
    public void HelpFileMatchesTheDocComments()
    {
        var generated = Generate();
        if (Environment.GetEnvironmentVariable("VF_UPDATE_HELP") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(HelpFile)!);
            File.WriteAllText(HelpFile, generated);
        }
        Assert.True(File.Exists(HelpFile) && File.ReadAllText(HelpFile) == generated,
            "module/en-US help is stale: run `VF_UPDATE_HELP=1 dotnet test tests/Unit --filter HelpTests` and commit it.");
    }

    [Fact]
    public void EveryCmdletHasASynopsisAndAnExampleInGetHelp()
    {
        using var ps = new PowerShellHost();
        foreach (var name in ps.Ok("Get-Command -Module VirtFleet | ForEach-Object Name").Select(o => o.ToString()!))
        {
            var help = ps.Ok($"Get-Help {name} -Full").Single();
            Assert.False(string.IsNullOrWhiteSpace(help.Properties["Synopsis"].Value?.ToString()), name);
            Assert.DoesNotContain(name, help.Properties["Synopsis"].Value!.ToString()!.Trim() + "x"); // not the bare syntax stub
            var examples = ps.Ok($"(Get-Help {name} -Examples).examples.example");
            Assert.True(examples.Count > 0, $"{name} has no example in Get-Help");
        }
    }

    [Fact]
    public void EveryParameterOfEveryCmdletHasADescriptionInGetHelp()
    {
        using var ps = new PowerShellHost();
        // Every parameter the cmdlet binds (common parameters aside), looked up in what Get-Help -Full shows.
        var empty = ps.Ok("""
            $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
            foreach ($c in Get-Command -Module VirtFleet) {
                $help = Get-Help $c.Name -Full
                foreach ($p in $c.Parameters.Keys) {
                    if ($common -contains $p) { continue }
                    $text = ''
                    foreach ($hp in $help.parameters.parameter) { if ($hp.name -eq $p) { foreach ($d in $hp.description) { $text += $d.Text } } }
                    if (-not $text.Trim()) { "$($c.Name) -$p" }
                }
            }
            """).Select(o => o.ToString()).ToList();
        Assert.True(empty.Count == 0, $"{empty.Count} parameters have no description in Get-Help: {string.Join(", ", empty)}");
    }

    private static string Generate()
    {
        var dll = Path.Combine(PowerShellHost.RepoRoot, "src", "VirtFleet.Cmdlets", "bin", "Release", "net10.0", "VirtFleet.Cmdlets.dll");
        var docs = XDocument.Load(Path.ChangeExtension(dll, ".xml")).Descendants("member")
            .ToDictionary(m => m.Attribute("name")!.Value);
        var asm = Assembly.LoadFrom(Path.Combine(PowerShellHost.RepoRoot, "out", "VirtFleet", "VirtFleet.Cmdlets.dll"));
        var cmdlets = asm.GetExportedTypes()
            .Select(t => (Type: t, Attr: t.GetCustomAttribute<CmdletAttribute>()))
            .Where(x => x.Attr is not null).OrderBy(x => $"{x.Attr!.NounName}-{x.Attr.VerbName}", StringComparer.Ordinal);
        var root = new XElement("helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml), new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev));
        foreach (var (type, attr) in cmdlets)
        {
            var doc = docs.GetValueOrDefault("T:" + type.FullName);
            string Para(string kind) => doc?.Element("summary")?.Elements("para").FirstOrDefault(p => p.Attribute("type")?.Value == kind)?.Value is { } v ? Prose(v) : "";
            var parameters = type.GetProperties()
                .Select(p => (Prop: p, Attrs: p.GetCustomAttributes<ParameterAttribute>().ToList()))
                .Where(x => x.Attrs.Count > 0).OrderBy(x => x.Prop.Name, StringComparer.Ordinal);
            root.Add(new XElement(Command + "command",
                new XElement(Command + "details",
                    new XElement(Command + "name", $"{attr!.VerbName}-{attr.NounName}"),
                    new XElement(Maml + "description", new XElement(Maml + "para", Para("synopsis"))),
                    new XElement(Command + "verb", attr.VerbName),
                    new XElement(Command + "noun", attr.NounName)),
                new XElement(Maml + "description", new XElement(Maml + "para", Para("description") is { Length: > 0 } d ? d : Para("synopsis"))),
                new XElement(Command + "parameters", parameters.Select(x =>
                {
                    var a = x.Attrs[0];
                    var pipeline = x.Attrs.Any(p => p.ValueFromPipeline) ? "True (ByValue)"
                        : x.Attrs.Any(p => p.ValueFromPipelineByPropertyName) ? "True (ByPropertyName)" : "False";
                    var summary = Summary(docs, x.Prop);
                    return new XElement(Command + "parameter",
                        new XAttribute("required", x.Attrs.Any(p => p.Mandatory).ToString().ToLowerInvariant()),
                        new XAttribute("pipelineInput", pipeline),
                        new XAttribute("position", a.Position >= 0 ? a.Position.ToString() : "named"),
                        new XElement(Maml + "name", x.Prop.Name),
                        new XElement(Maml + "description", new XElement(Maml + "para", summary)),
                        new XElement(Command + "parameterValue", new XAttribute("required", "true"), TypeName(x.Prop.PropertyType)));
                })),
                new XElement(Command + "examples", (doc?.Descendants("example") ?? []).Select((e, i) =>
                    new XElement(Command + "example",
                        new XElement(Maml + "title", $"-------------------------- Example {i + 1} --------------------------"),
                        new XElement(Dev + "code", e.Element("code")?.Value.Trim() ?? e.Value.Trim()),
                        new XElement(Dev + "remarks", new XElement(Maml + "para", "")))))));
        }
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + root + "\n";
    }

    private static string Summary(Dictionary<string, XElement> docs, PropertyInfo p)
    {
        for (var t = p.DeclaringType; t is not null; t = t.BaseType)
            if (docs.TryGetValue($"P:{t.FullName}.{p.Name}", out var m)) return m.Element("summary")?.Value is { } v ? Prose(v) : "";
        return "";
    }

    /// <summary>Doc comment text as one paragraph: the source's line breaks and indentation are not the reader's (Get-Help wraps).</summary>
    private static string Prose(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ").Trim();

    private static string TypeName(Type t) =>
        t == typeof(SwitchParameter) ? "SwitchParameter" : Nullable.GetUnderlyingType(t) is { } u ? u.Name : t.Name;
}
