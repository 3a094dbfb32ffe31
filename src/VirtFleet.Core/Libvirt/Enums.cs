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
