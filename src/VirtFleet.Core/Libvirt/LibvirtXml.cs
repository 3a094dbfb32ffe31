using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace VirtFleet.Libvirt;

/// <summary>The one place XML text is read and written: safe parsing, stable formatting.</summary>
internal static class LibvirtXml
{
    static readonly XmlWriterSettings WriterSettings = new()
    {
        OmitXmlDeclaration = true,
        Indent = true,
        IndentChars = "  ",
        NewLineChars = "\n",
        // Carriage returns in values become &#xD; so text round-trips exactly.
        NewLineHandling = NewLineHandling.Entitize,
        Encoding = new UTF8Encoding(false),
    };

    static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
    };

    /// <summary>Formats an element the same way every time (two-space indent, \n, no declaration).</summary>
    public static string Format(XElement element)
    {
        var text = new StringBuilder();
        try
        {
            using var writer = XmlWriter.Create(text, WriterSettings);
            element.WriteTo(writer);
        }
        catch (ArgumentException e)
        {
            // XmlWriter refuses characters XML cannot carry (NUL, most C0 controls).
            throw new VfException("InvalidXmlCharacter", FailureKind.InvalidArgument,
                $"A value cannot be written to libvirt XML: {e.Message}", element.Name.LocalName, e);
        }
        return text.Append('\n').ToString();
    }

    /// <summary>Parses XML that virsh printed; no DTDs, no external entities.</summary>
    public static XElement Parse(string xml, string what)
    {
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), ReaderSettings);
            return XElement.Load(reader);
        }
        catch (XmlException e)
        {
            throw new VfException("InvalidVirshXml", FailureKind.InvalidData, $"virsh returned {what} that is not valid XML: {e.Message}", what, e);
        }
    }

    /// <summary>Parses and checks the root element name.</summary>
    public static XElement ParseRoot(string xml, string rootName)
    {
        var root = Parse(xml, rootName);
        if (root.Name.LocalName != rootName)
            throw new VfException("UnexpectedVirshXml", FailureKind.InvalidData,
                $"Expected a <{rootName}> document from virsh, got <{root.Name.LocalName}>.", rootName);
        return root;
    }

    /// <summary>The lowercase spelling libvirt uses for one of our enum values.</summary>
    public static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static string YesNo(bool value) => value ? "yes" : "no";

    public static string OnOff(bool value) => value ? "on" : "off";

    public static string? Attr(this XElement? e, string name) => e?.Attribute(name)?.Value;

    public static string? Text(this XElement? e, string child) => e?.Element(child)?.Value;

    public static int? Int(string? s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    public static long? Long(string? s) => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A libvirt scaled integer (memory unit='KiB' and friends) in MiB.</summary>
    public static long? Mib(XElement? e)
    {
        var value = Long(e?.Value.Trim());
        if (value is null) return null;
        long bytesPerUnit = (e.Attr("unit") ?? "KiB") switch
        {
            "b" or "bytes" => 1,
            "KB" => 1000, "k" or "KiB" => 1L << 10,
            "MB" => 1000_000, "M" or "MiB" => 1L << 20,
            "GB" => 1000_000_000, "G" or "GiB" => 1L << 30,
            "TB" => 1000_000_000_000, "T" or "TiB" => 1L << 40,
            var unit => throw new VfException("UnknownMemoryUnit", FailureKind.InvalidData, $"Unknown memory unit '{unit}' in libvirt XML."),
        };
        return value.Value * bytesPerUnit / (1L << 20);
    }
}
