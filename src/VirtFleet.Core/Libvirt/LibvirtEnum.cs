namespace VirtFleet.Libvirt;

/// <summary>Parsing of user- or image-supplied spellings into the enums above.</summary>
public static class LibvirtEnum
{
    /// <summary>Case-insensitive parse; firmware also accepts "uefi". Throws InvalidArgument naming the choices.</summary>
    public static T Parse<T>(string value, string what) where T : struct, Enum
    {
        if (typeof(T) == typeof(Firmware) && value.Equals("uefi", StringComparison.OrdinalIgnoreCase))
            return (T)(object)Firmware.Efi;
        if (!int.TryParse(value, out _) && Enum.TryParse<T>(value, ignoreCase: true, out var parsed))
            return parsed;
        var choices = string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        throw new VfException("Invalid" + typeof(T).Name, FailureKind.InvalidArgument,
            $"'{value}' is not a valid {what}; use one of: {choices}.", value);
    }
}
