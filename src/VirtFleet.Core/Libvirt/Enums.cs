namespace VirtFleet.Libvirt;

// Written to XML in lowercase (LibvirtXml.Lower), so member names match libvirt's spelling.

/// <summary>kvm when the host has usable hardware virtualization; qemu means TCG emulation.</summary>
public enum DomainType { Kvm, Qemu }

public enum Firmware { Bios, Efi }

public enum DiskBus { Virtio, Sata, Scsi, Ide }

public enum DiskDevice { Disk, Cdrom }

public enum InterfaceType { Network, Bridge }

public enum NicModel { Virtio, E1000, Rtl8139 }

public enum ClockOffset { Utc, Localtime }

public enum GraphicsType { None, Vnc }

/// <summary>Platform features that are a plain element in &lt;features&gt;, in libvirt's order.</summary>
public enum PlatformFeature { Acpi, Apic, Pae }

/// <summary>Hyper-V enlightenments for Windows guests, declared in the order libvirt writes them.</summary>
public enum HyperVFeature { Relaxed, Vapic, Spinlocks, Vpindex, Runtime, Synic, Stimer, Reset, Frequencies, Reenlightenment, Tlbflush, Ipi }

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
