#!/usr/bin/env bash
# build-installer.sh OUTDIR - the test installer ISOs of the image-build lab test (New-VfImageBuild), from Debian
# packages only, after build-guest.sh has built OUTDIR/vflinux:
#
#   OUTDIR/installer/vfinstaller.iso  a BIOS-bootable installer CD (isolinux): its kernel and a busybox initramfs find the
#                                     root disk (/dev/vda, else /dev/sda), write the "installed system" carried on the CD
#                                     (system.img) onto it, report the driver CD it sees, and power off
#   OUTDIR/installer/vfdrivers.iso    a plain data CD standing in for the virtio-win driver disk (VFDRIVER.TXT)
#
# The installed system (system.img) is a whole-disk FAT file system with syslinux in its boot sector: it boots the lab's
# vflinux kernel and initramfs from the disk, with "vfsystem=installed" on the kernel command line (the kernel prints it).
# Inputs: isolinux, syslinux, syslinux-common, mtools, dosfstools, genisoimage, busybox-static, linux-image-amd64, cpio.
# Cached: OUTDIR/installer/.inputs holds a hash of this script and its inputs; when it matches, nothing is rebuilt.
set -euo pipefail
umask 022

die() { printf 'build-installer: %s\n' "$*" >&2; exit 1; }
(( $# == 1 )) && [[ -n $1 ]] || die "usage: build-installer.sh OUTDIR"
OUT=$(cd -- "$1" && pwd)
G=$OUT/vflinux
I=$OUT/installer
BUSYBOX=/bin/busybox
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
[[ -s $G/vmlinuz && -s $G/initrd.img ]] || die "$G has no vmlinuz/initrd.img: run build-guest.sh $OUT first"
for f in "$ISOLINUX" "$LDLINUX"; do [[ -r $f ]] || die "$f missing (install isolinux syslinux-common)"; done
for t in syslinux mkfs.vfat mcopy genisoimage cpio gzip modprobe depmod sha256sum flock; do
    command -v "$t" >/dev/null || die "$t missing (install syslinux mtools dosfstools genisoimage cpio kmod)"
done
KVER=$(file -bL "$G/vmlinuz" 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')
[[ -n $KVER && -d /lib/modules/$KVER/kernel ]] || KVER=$(ls /lib/modules | sort -V | tail -n 1)

mkdir -p "$I"
INPUTS=$( { sha256sum < "${BASH_SOURCE[0]}"; sha256sum < "$G/vmlinuz"; sha256sum < "$G/initrd.img"; sha256sum < "$BUSYBOX";
            sha256sum < "$ISOLINUX"; printf 'kernel %s\n' "$KVER"; } | sha256sum | cut -d' ' -f1)
exec 9> "$I/.lock"
flock 9
if [[ -r $I/.inputs && $(< "$I/.inputs") == "$INPUTS" && -s $I/vfinstaller.iso && -s $I/vfdrivers.iso ]]; then
    printf 'build-installer: %s is up to date\n' "$I"; exit 0
fi
T0=$(date +%s%N)
B=$(mktemp -d "$I/.build.XXXXXX")
trap 'rm -rf -- "$B"' EXIT

# The installed system: FAT on the whole disk, syslinux's boot sector, the lab guest's kernel and initramfs.
S=$B/system.img
truncate -s 40M "$S"
mkfs.vfat -n VFSYSTEM "$S" >/dev/null
cat > "$B/syslinux.cfg" <<'EOF'
DEFAULT system
PROMPT 0
TIMEOUT 0
LABEL system
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img console=ttyS0 vfsystem=installed
EOF
mcopy -i "$S" "$G/vmlinuz" "$G/initrd.img" "$B/syslinux.cfg" ::/
syslinux --install "$S"

# The installer's initramfs: busybox, the storage and CD-ROM modules, /init.
R=$B/root
mkdir -p "$R"/{bin,dev,proc,sys,mnt,etc,lib/modules/"$KVER"}
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do [[ $a == busybox || -e $R/bin/$a ]] || ln -s busybox "$R/bin/$a"; done
MODULES="virtio_pci virtio_blk virtio_scsi ahci ata_piix sd_mod sr_mod isofs"
MD=/lib/modules/$KVER
for m in $MODULES; do
    deps=$(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null) || die "kernel module $m not found for $KVER"
    while read -r kind path _; do
        [[ $kind == insmod ]] || continue
        rel=${path#"$MD"/}; mkdir -p "$R/$MD/$(dirname "$rel")"; cp "$path" "$R/$MD/$rel"
    done <<< "$deps"
done
cp "$MD"/modules.order "$MD"/modules.builtin "$R/$MD/"
[[ -f $MD/modules.builtin.modinfo ]] && cp "$MD/modules.builtin.modinfo" "$R/$MD/"
depmod -b "$R" "$KVER"
printf '%s\n' $MODULES > "$R/etc/modules"
cat > "$R/init" <<'EOF'
#!/bin/sh
# vfinstaller: write the system image from the installer CD onto the root disk, then power off.
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say() { echo "vfinstaller: $*"; }
modprobe -qa $(cat /etc/modules)
src= drv= i=0
while [ -z "$src" ] && [ "$i" -lt 60 ]; do
    for d in /dev/sr*; do
        [ -b "$d" ] || continue
        m=/mnt/${d##*/}; mkdir -p "$m"
        mountpoint -q "$m" || mount -t iso9660 -o ro "$d" "$m" 2>/dev/null || continue
        [ -f "$m/system.img" ] && src=$m
        [ -f "$m/VFDRIVER.TXT" ] && drv="$d: $(head -n 1 "$m/VFDRIVER.TXT")"
    done
    [ -n "$src" ] || { sleep 1; i=$((i+1)); }
done
[ -n "$src" ] || { say "no CD with system.img found"; poweroff -f; }
say "installer CD ${src#/mnt/}; driver CD ${drv:-none}"
disk=
for d in /dev/vda /dev/sda; do [ -b "$d" ] && { disk=$d; break; }; done
[ -n "$disk" ] || { say "no root disk found"; poweroff -f; }
say "writing the system onto $disk"
if dd if="$src/system.img" of="$disk" bs=1M conv=fsync 2>/dev/null; then say "installed onto $disk; powering off"
else say "writing $disk failed"; fi
sync
poweroff -f
EOF
chmod 755 "$R/init"
mkdir -p "$B/cd/isolinux"
( cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet ) | gzip -6n > "$B/cd/install.img"
cp "$G/vmlinuz" "$B/cd/vmlinuz"
cp "$S" "$B/cd/system.img"
cp "$ISOLINUX" "$LDLINUX" "$B/cd/isolinux/"
cat > "$B/cd/isolinux/isolinux.cfg" <<'EOF'
DEFAULT install
PROMPT 0
TIMEOUT 0
LABEL install
  KERNEL /vmlinuz
  APPEND initrd=/install.img console=ttyS0
EOF
genisoimage -quiet -o "$B/vfinstaller.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
    -boot-info-table -J -R -V VFINSTALL "$B/cd"
mkdir -p "$B/drivers"
echo "VirtFleet stand-in driver disk" > "$B/drivers/VFDRIVER.TXT"
genisoimage -quiet -o "$B/vfdrivers.iso" -J -R -V VFDRIVERS "$B/drivers"
mv -f "$B/vfinstaller.iso" "$B/vfdrivers.iso" "$I/"
printf '%s\n' "$INPUTS" > "$I/.inputs"
printf 'build-installer: built %s (installer %s KiB) in %d ms\n' "$I" $(( $(stat -c %s "$I/vfinstaller.iso") / 1024 )) \
    $(( ($(date +%s%N) - T0) / 1000000 ))
