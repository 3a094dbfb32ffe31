#!/usr/bin/env bash
# build-guest.sh OUTDIR - build the tiny guest images the VirtFleet lab tests boot.
#
#   OUTDIR/vflinux/  vmlinuz (Debian kernel), initrd.img (busybox-static initramfs, cpio.gz),
#                    disk.qcow2 (blank, 64 MiB), image.json; serves /, /cloud.txt and
#                    /cgi-bin/probe?ip=A.B.C.D (pings and fetches another address: guest-to-guest tests),
#                    /cgi-bin/disk[?put=NAME] (files kept on the root disk, also served as /disk/NAME)
#   OUTDIR/win2008/  disk.qcow2 (blank, 1 GiB; sits in SeaBIOS), image.json
#   OUTDIR/vfwin/    disk.qcow2 (64 MiB, BIOS-bootable: MBR, a FAT partition with syslinux, the kernel and an
#                    initramfs whose init runs in "windows" mode), image.json (os family Windows, win2k8r2: SATA,
#                    e1000, localtime): the stand-in for a Windows guest. It boots from its SATA root disk, reads the
#                    config drive (config-2) VirtFleet gives Windows instances, and does what VirtFleet's Windows
#                    first-boot script does, in the same wire format: a random administrator password, encrypted to
#                    the RSA key in the user data's first-boot script (OAEP, SHA-1, with openssl), on the serial
#                    console between <Password user="Administrator"> and </Password>. Its page also shows its NIC
#                    driver, disks, seed and RTC.
#
# Inputs are Debian packages only: linux-image-amd64, busybox-static, qemu-utils; for vfwin syslinux,
# syslinux-common, mtools, dosfstools, fdisk (sfdisk) and openssl (its binary and libraries go into vfwin's initramfs).
# Cached: OUTDIR/.inputs holds a hash of this script, the kernel version and the busybox
# binary; when it matches and every output exists the script exits at once.
# Concurrent runs on one OUTDIR serialize on OUTDIR/.lock; outputs are swapped in whole.
#
# Environment: VF_GUEST_KVER  kernel version to use (default: newest /boot/vmlinuz-* that
#                             has /lib/modules/<version>)
set -euo pipefail
umask 022

die() { printf 'build-guest: %s\n' "$*" >&2; exit 1; }
(( $# == 1 )) && [[ -n $1 ]] || die "usage: build-guest.sh OUTDIR"
OUT=$1
BUSYBOX=/bin/busybox

# Modules the guest loads (modprobe pulls in dependencies): virtio and SATA/IDE storage,
# virtio/e1000/e1000e/rtl8139 NICs, CD-ROM + ISO9660 and VFAT for the NoCloud seed.
MODULES="virtio_pci virtio_net virtio_blk virtio_scsi sd_mod sr_mod ahci ata_piix
         e1000 e1000e 8139cp isofs vfat nls_cp437 nls_ascii nls_utf8"

pick_kver() {
    local v k
    if [[ -n ${VF_GUEST_KVER:-} ]]; then printf '%s\n' "$VF_GUEST_KVER"; return; fi
    for k in /boot/vmlinuz-*; do
        v=${k#/boot/vmlinuz-}
        [[ -f $k && -d /lib/modules/$v/kernel ]] && printf '%s\n' "$v"
    done | sort -V | tail -n 1
}
KVER=$(pick_kver)
[[ -n $KVER && -r /boot/vmlinuz-$KVER && -d /lib/modules/$KVER/kernel ]] \
    || die "no usable kernel (install linux-image-amd64; tried '${KVER:-none}')"
[[ -x $BUSYBOX ]] && $BUSYBOX --list | grep -x udhcpc >/dev/null || die "$BUSYBOX missing (install busybox-static)"
command -v qemu-img >/dev/null || die "qemu-img missing (install qemu-utils)"
for t in cpio gzip depmod modprobe flock sha256sum syslinux mcopy mkfs.fat sfdisk openssl; do
    command -v "$t" >/dev/null || die "$t missing (install syslinux mtools dosfstools fdisk openssl)"
done
SYSLINUX_MBR=/usr/lib/syslinux/mbr/mbr.bin
[[ -r $SYSLINUX_MBR ]] || die "$SYSLINUX_MBR missing (install syslinux-common)"

mkdir -p -- "$OUT"
OUT=$(cd -- "$OUT" && pwd)
INPUTS=$( { sha256sum < "${BASH_SOURCE[0]}"; printf 'kernel %s\n' "$KVER"; sha256sum < "$BUSYBOX"; sha256sum < "$(command -v openssl)"; } | sha256sum | cut -d' ' -f1)

up_to_date() {
    local f
    [[ -r $OUT/.inputs && $(< "$OUT/.inputs") == "$INPUTS" ]] || return 1
    for f in vflinux/vmlinuz vflinux/initrd.img vflinux/disk.qcow2 vflinux/image.json \
             win2008/disk.qcow2 win2008/image.json vfwin/disk.qcow2 vfwin/image.json; do
        [[ -s $OUT/$f ]] || return 1
    done
}

exec 9> "$OUT/.lock"
flock 9
if up_to_date; then
    printf 'build-guest: %s is up to date (kernel %s)\n' "$OUT" "$KVER"
    exit 0
fi

T0=$(date +%s%N)
rm -rf -- "$OUT"/.build.* "$OUT"/*.old          # left by a killed run (we hold the lock)
B=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf -- "$B"' EXIT
R=$B/root            # initramfs tree
V=$B/vflinux
W=$B/win2008
G=$B/vfwin
mkdir -p "$V" "$W" "$G" "$R"/{bin,dev,proc,sys,run,tmp,mnt/seed,etc,www,root/.ssh,lib/modules/"$KVER"}
chmod 700 "$R/root" "$R/root/.ssh"
chmod 1777 "$R/tmp"

# busybox and one symlink per applet
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do
    [[ $a == busybox || -e $R/bin/$a ]] || ln -s busybox "$R/bin/$a"
done
# a console node lets the kernel give /init its stdio; /init also reopens it from devtmpfs
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true

# modules with their dependencies, indexed by depmod for busybox modprobe
MD=/lib/modules/$KVER
for m in $MODULES; do
    deps=$(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null) || die "kernel module $m not found for $KVER"
    while read -r kind path _; do
        [[ $kind == insmod ]] || continue           # "builtin x" needs nothing
        rel=${path#"$MD"/}
        mkdir -p "$R/$MD/$(dirname "$rel")"
        cp "$path" "$R/$MD/$rel"
    done <<< "$deps"
done
cp "$MD"/modules.order "$MD"/modules.builtin "$R/$MD/"
[[ -f $MD/modules.builtin.modinfo ]] && cp "$MD/modules.builtin.modinfo" "$R/$MD/"
depmod -b "$R" "$KVER"
rm -f "$R/$MD/modules.order" "$R/$MD/modules.builtin.modinfo"   # depmod inputs only
printf '%s\n' $MODULES > "$R/etc/vf-modules"

# udhcpc event script: configure address, routes and resolver; record the lease
cat > "$R/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc hook: $1 is deconfig|bound|renew|leasefail|nak; lease data in the environment.
case $1 in
deconfig)
    rm -f /run/ip
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up ;;
bound|renew)
    if ! ip -4 addr show dev "$interface" | grep -q " $ip/${mask:-24} "; then
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" broadcast + dev "$interface"
    fi
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "$ip" > /run/ip.tmp && mv /run/ip.tmp /run/ip ;;
esac
exit 0
EOF

# /init: PID 1 of the guest
cat > "$R/init" <<'EOF'
#!/bin/sh
# vflinux guest init (busybox sh): modules, NoCloud seed, DHCP, httpd, a ready line on the
# console, then supervise forever. vf.debug=1 on the kernel command line logs timings.
# vf.mode=windows (vfwin, booted from its disk by syslinux): the config drive instead of the
# NoCloud seed, and the Windows first-boot password in its wire format (see build-guest.sh).
export PATH=/bin:/usr/bin HOME=/root
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
say() { echo "vflinux: $*"; }
now() { cut -d. -f1 /proc/uptime; }
cs() { local u; read -r u _ < /proc/uptime; echo "${u%.*}${u#*.}"; }   # uptime in 1/100 s
arg() { for w in $(cat /proc/cmdline); do case $w in "$1"=*) echo "${w#*=}"; return;; esac; done; echo "$2"; }
DEBUG=$(arg vf.debug 0)
if [ "$(arg vf.mode linux)" = windows ]; then MODE=windows L1=config-2 L2=CONFIG-2; else MODE=linux L1=cidata L2=CIDATA; fi
dbg() { [ "$DEBUG" = 1 ] && say "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
dbg "init"

modprobe -qa $(cat /etc/vf-modules)
dbg "modules loaded"
ip link set lo up
hostname vflinux

# first ethernet NIC (type 1 = ARPHRD_ETHER)
nic=
until [ -n "$nic" ] || [ "$(now)" -ge 20 ]; do
    for n in /sys/class/net/*; do
        [ "$(cat "$n/type" 2>/dev/null)" = 1 ] && { nic=${n##*/}; break; }
    done
    [ -n "$nic" ] || sleep 0.2
done
# DHCP client in the background (retries forever); $1 hostname to send, $2 address to ask for
dhcp_pid= dhcp_log=/run/udhcpc.log
[ "$DEBUG" = 1 ] && dhcp_log=/dev/console
dhcp_start() {
    rm -f /run/ip
    echo "$1" > /run/dhcp-name
    udhcpc -f -i "$nic" -s /etc/udhcpc.script -t 10 -T 1 -A 1 -x "hostname:$1" ${2:+-r "$2"} \
        >>"$dhcp_log" 2>&1 &
    dhcp_pid=$!
}
if [ -n "$nic" ]; then ip link set "$nic" up; else say "no ethernet NIC found"; fi

# YAML-ish value: strip spaces, CR, quotes; unescape \" \\ (double) and '' (single)
yval() {
    sed -e 's/\r$//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' |
    sed -e '/^".*"$/{s/^"//;s/"$//;s/\\"/"/g;s/\\\\/\\/g;}' -e "/^'.*'\$/{s/^'//;s/'\$//;s/''/'/g;}"
}
# "key: value" at top level of a YAML file
ytop() { sed -n "s/^$2:[[:space:]]*//p" "$1" 2>/dev/null | head -n 1 | yval; }
# items of a top-level YAML block list "key:\n  - item"
ylist() {
    awk -v k="$2:" '{ sub(/\r$/, "") }
        /^[^[:space:]#-]/ { in_list = ($1 == k && NF == 1); next }
        in_list && /^[[:space:]]*-[[:space:]]/ { sub(/^[[:space:]]*-[[:space:]]*/, ""); print }' "$1" 2>/dev/null |
    while IFS= read -r l; do printf '%s\n' "$l" | yval; done
}

# NoCloud seed: a block device labelled cidata (either case). Usually there at once; if
# not, DHCP starts meanwhile as "vflinux" and disks get vf.seedwait seconds to show up.
# findfs misses an ISO9660 image shorter than 32 sectors, so CDs and disks are also checked
# for a primary volume descriptor ("CD001" at byte 32769, volume id at 32808).
iso_seed() {
    local d
    for d in /dev/sr* /dev/vd* /dev/sd* /dev/hd*; do
        [ -b "$d" ] && [ "$(dd if="$d" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ] || continue
        case $(dd if="$d" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' ') in
            "$L1"|"$L2") dbg "seed $d found by its volume descriptor" >&2; echo "$d"; return 0 ;;
        esac
    done
    return 1
}
find_seed() {   # $1: give up at this uptime (1/100 s)
    until seed=$(findfs LABEL="$L1" 2>/dev/null || findfs LABEL="$L2" 2>/dev/null || iso_seed); do
        [ "$(cs)" -ge "$1" ] && return 1
        sleep 0.2
    done
}
seed= ; t0=$(cs)
if ! find_seed $((t0 + 150)); then
    [ -n "$nic" ] && { dhcp_start vflinux; dbg "dhcp on $nic (seed not there yet)"; }
    find_seed $((t0 + $(arg vf.seedwait 6) * 100))
fi
host=vflinux iid=none
: > /run/keys
# "key": "value" in a one-line JSON object (the config drive's meta_data.json)
jval() { sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p" "$1" 2>/dev/null | head -n 1; }
if [ -n "$seed" ] && [ "$MODE" = windows ] && mount -o ro "$seed" /mnt/seed; then
    md=/mnt/seed/openstack/latest/meta_data.json
    v=$(jval "$md" uuid); [ -n "$v" ] && iid=$v
    v=$(jval "$md" hostname); [ -n "$v" ] && host=$v
    cp /mnt/seed/openstack/latest/user_data /run/user_data 2>/dev/null
    umount /mnt/seed
    say "config drive $seed: instance-id=$iid"
elif [ -n "$seed" ] && mount -o ro "$seed" /mnt/seed; then
    md=/mnt/seed/meta-data ud=/mnt/seed/user-data
    v=$(ytop "$md" instance-id); [ -n "$v" ] && iid=$v
    v=$(ytop "$md" local-hostname); [ -n "$v" ] && host=$v
    ylist "$md" public-keys >> /run/keys
    if head -n 1 "$ud" 2>/dev/null | grep -q '^#cloud-config'; then
        v=$(ytop "$ud" hostname); [ -n "$v" ] && host=$v
        ylist "$ud" ssh_authorized_keys >> /run/keys
    fi
    umount /mnt/seed
    say "seed $seed: instance-id=$iid"
else
    say "no $L1 seed"
fi
dbg "seed done; block devices: $(ls /sys/block | tr '\n' ' ')"
# allowlists keep both free of HTML and shell metacharacters: hostname RFC 1123
# characters, instance id a safe token
host=$(printf '%s' "$host" | tr -cd 'A-Za-z0-9.-' | cut -c1-63); [ -n "$host" ] || host=vflinux
iid=$(printf '%s' "$iid" | tr -cd 'A-Za-z0-9._:@+=-' | cut -c1-128); [ -n "$iid" ] || iid=none
hostname "$host"
echo "$host" > /etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$host" > /etc/hosts
grep -E '^(ssh-|ecdsa-|sk-)' /run/keys | tr -d '\r' > /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys

# wait for the lease; if the seed renamed us, take it again under the new name
wait_lease() {
    local warned=
    until [ -s /run/ip ]; do
        [ -z "$warned" ] && [ "$(now)" -ge 60 ] && { say "still waiting for a DHCP lease on $nic"; warned=1; }
        sleep 0.1
    done
}
ip=none
if [ -n "$nic" ]; then
    if [ -z "$dhcp_pid" ]; then
        # a discover sent before the link is up is lost (e1000 needs a moment)
        t_end=$(( $(cs) + 500 ))
        until [ "$(cat "/sys/class/net/$nic/carrier" 2>/dev/null)" = 1 ] || [ "$(cs)" -ge "$t_end" ]; do sleep 0.1; done
        dhcp_start "$host"; dbg "dhcp on $nic"
    fi
    wait_lease
    if [ "$(cat /run/dhcp-name)" != "$host" ]; then
        kill "$dhcp_pid"; wait "$dhcp_pid"
        dhcp_start "$host" "$(cat /run/ip)"
        wait_lease
    fi
    ip=$(cat /run/ip)
    dbg "lease $ip"
fi

# Windows first boot, as VirtFleet's first-boot script does it: a random password for the administrator,
# encrypted to the RSA key the script carries ($VfRsaKey, .NET's RSAKeyValue XML), on the serial console.
password_agent() {
    local key n e pw c
    key=$(tr -d '\r' < /run/user_data | sed -n "s/^\$VfRsaKey = '\(<RSAKeyValue>.*<\/RSAKeyValue>\)'\$/\1/p" | head -n 1)
    [ -n "$key" ] || { say "no first-boot script in the user data"; return 0; }
    b64hex() { printf '%s' "$1" | openssl base64 -d -A | od -An -tx1 -v | tr -d ' \n'; }
    n=$(b64hex "$(printf '%s' "$key" | sed -n 's/.*<Modulus>\([^<]*\)<.*/\1/p')")
    e=$(b64hex "$(printf '%s' "$key" | sed -n 's/.*<Exponent>\([^<]*\)<.*/\1/p')")
    printf 'asn1=SEQUENCE:k\n[k]\nn=INTEGER:0x%s\ne=INTEGER:0x%s\n' "$n" "$e" > /run/k.cnf
    pw="$(head -c 12 /dev/urandom | openssl base64 -A | tr -d '/+=')Vf7!"
    if openssl asn1parse -genconf /run/k.cnf -out /run/k.der -noout >/dev/null 2>&1 &&
        openssl rsa -RSAPublicKey_in -inform DER -in /run/k.der -pubout -out /run/k.pem 2>/dev/null &&
        c=$(printf '%s' "$pw" | openssl pkeyutl -encrypt -pubin -inkey /run/k.pem -pkeyopt rsa_padding_mode:oaep | openssl base64 -A) &&
        [ -n "$c" ]; then
        printf '<Password user="Administrator">\r\n%s\r\n</Password>\r\n' "$c" > /dev/ttyS0
        say "administrator password set; written to the console encrypted"
    else
        say "password encryption failed"
    fi
    rm -f /run/k.cnf /run/k.der /run/k.pem
}
[ "$MODE" = windows ] && [ -s /run/user_data ] && password_agent

drv=$(basename "$(readlink "/sys/class/net/$nic/device/driver")" 2>/dev/null)
mac=$(cat "/sys/class/net/$nic/address" 2>/dev/null)
disks=$(ls /sys/block | grep -v -E '^(loop|ram)' | tr '\n' ' ')
{
    echo "<html><head><title>vflinux $host</title></head><body><pre>"
    echo "vflinux hostname=$host instance-id=$iid ip=$ip"
    echo "nic=$nic driver=$drv mac=$mac"
    echo "disks=$disks"
    echo "seed=${seed:-none} kernel=$(uname -r) ready-uptime=$(cut -d' ' -f1 /proc/uptime)"
    echo "mode=$MODE rtc=$(cat /sys/class/rtc/rtc0/date 2>/dev/null)T$(cat /sys/class/rtc/rtc0/time 2>/dev/null) utc=$(date -u +%Y-%m-%dT%H:%M:%S)"
    for d in /sys/block/sd* /sys/block/vd* /sys/block/sr*; do
        [ -e "$d" ] && echo "disk ${d##*/} $(readlink -f "$d/device" | grep -o -E 'ata[0-9]+|virtio[0-9]+|usb[0-9]+' | head -n 1)"
    done
    echo "</pre></body></html>"
} > /www/index.html
{
    echo "hostname=$host"
    echo "instance-id=$iid"
    cat /root/.ssh/authorized_keys
} > /www/cloud.txt

# /cgi-bin/probe?ip=A.B.C.D: can this guest reach another address? (ping, then its page)
mkdir -p /www/cgi-bin
cat > /www/cgi-bin/probe <<'PROBE'
#!/bin/sh
ip=$(printf '%s' "$QUERY_STRING" | sed -n 's/^ip=\([0-9]\{1,3\}\(\.[0-9]\{1,3\}\)\{3\}\)$/\1/p')
printf 'Content-Type: text/plain\r\n\r\n'
[ -n "$ip" ] || { echo "usage: /cgi-bin/probe?ip=A.B.C.D"; exit 0; }
if ping -c 1 -W 2 "$ip" >/dev/null 2>&1; then echo "ping ok"; else echo "ping failed"; fi
if page=$(timeout 5 wget -q -O - "http://$ip/cloud.txt" 2>/dev/null); then echo "http ok"; printf '%s\n' "$page"; else echo "http failed"; fi
PROBE
chmod 755 /www/cgi-bin/probe

# The root disk as the guest's store of small files: a tar archive written on the raw disk (no filesystem tools
# needed), read at boot into /www/disk (served as /disk/NAME); /cgi-bin/disk?put=NAME adds a file NAME and writes the
# archive back to the disk (fsync'd); /cgi-bin/disk lists what the disk holds (the archive's first MiB: small files only). Checkpoint and image lab tests use it.
# (vflinux only: vfwin boots from its disk.)
rootdisk=
[ "$MODE" = linux ] && for d in /dev/vda /dev/sda /dev/hda; do [ -b "$d" ] && [ "$d" != "$seed" ] && { rootdisk=$d; break; }; done
mkdir -p /www/disk
if [ -n "$rootdisk" ]; then
    echo "$rootdisk" > /run/rootdisk
    dd if="$rootdisk" bs=64k count=16 2>/dev/null | tar -xf - -C /www/disk 2>/dev/null
fi
cat > /www/cgi-bin/disk <<'DISK'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
d=$(cat /run/rootdisk 2>/dev/null)
[ -n "$d" ] || { echo "no root disk"; exit 0; }
n=$(printf '%s' "$QUERY_STRING" | sed -n 's/^put=\([A-Za-z0-9_-]\{1,40\}\)$/\1/p')
if [ -n "$n" ]; then
    echo "$n written by $(hostname)" > "/www/disk/$n"
    if tar -cf - -C /www/disk . | dd of="$d" bs=4k conv=notrunc,fsync 2>/dev/null; then echo "wrote $n"; else echo "write failed"; fi
fi
echo "disk holds:"
dd if="$d" bs=64k count=16 2>/dev/null | tar -tf - 2>/dev/null | sed -n 's|^\./\(..*\)$|\1|p'
DISK
chmod 755 /www/cgi-bin/disk

echo "VF-GUEST-READY hostname=$host ip=$ip"

# supervise: httpd on 80, TCP echo on 7, the DHCP client
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }   # busybox: kill -0 "" hits pid 0
httpd_pid= echo_pid=
while :; do
    alive "$httpd_pid" || { httpd -f -p 80 -h /www & httpd_pid=$!; }
    alive "$echo_pid" || { nc -ll -p 7 -e cat & echo_pid=$!; }
    [ -n "$nic" ] && ! alive "$dhcp_pid" && dhcp_start "$host" "$ip"
    sleep 5
done
EOF
chmod 755 "$R/init" "$R/etc/udhcpc.script"

(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
    | gzip -6n > "$V/initrd.img"
cp "/boot/vmlinuz-$KVER" "$V/vmlinuz"

# vfwin: the same tree plus openssl (binary and libraries), booted by syslinux from a FAT partition on its disk
OPENSSL=$(command -v openssl)
for f in "$OPENSSL" $(ldd "$OPENSSL" | grep -o '/[^ ]*'); do
    mkdir -p "$R$(dirname "$f")"
    cp -L "$f" "$R$f"
done
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
    | gzip -6n > "$B/initrd.img"
printf '%s\n' 'DEFAULT vfwin' 'PROMPT 0' 'TIMEOUT 0' 'LABEL vfwin' '  KERNEL vmlinuz' '  INITRD initrd.img' \
    '  APPEND console=ttyS0 vf.mode=windows' > "$B/syslinux.cfg"
cp "/boot/vmlinuz-$KVER" "$B/vmlinuz"
truncate -s 64M "$B/vfwin.raw"
printf 'label: dos\nstart=2048, type=6, bootable\n' | sfdisk -q "$B/vfwin.raw"
mkfs.fat -C -h 2048 -n VFWIN "$B/part.img" $(( 64 * 1024 - 1024 )) >/dev/null
syslinux --install "$B/part.img"
MTOOLS_SKIP_CHECK=1 mcopy -i "$B/part.img" "$B/vmlinuz" "$B/initrd.img" "$B/syslinux.cfg" ::/
dd if="$B/part.img" of="$B/vfwin.raw" bs=512 seek=2048 conv=notrunc status=none
dd if="$SYSLINUX_MBR" of="$B/vfwin.raw" bs=440 count=1 conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$B/vfwin.raw" "$G/disk.qcow2"
rm -f "$B/vfwin.raw" "$B/part.img" "$B/vmlinuz" "$B/initrd.img" "$B/syslinux.cfg"
printf '%s\n' '{"name":"vfwin","osFamily":"Windows","osVariant":"win2k8r2","firmware":"Bios","virtioDrivers":false,"diskBus":"sata","nicModel":"e1000","minMemoryMiB":128,"disk":"disk.qcow2"}' \
    > "$G/image.json"
qemu-img create -q -f qcow2 "$V/disk.qcow2" 64M
cat > "$V/image.json" <<'EOF'
{"name":"vflinux","osFamily":"Linux","osVariant":"busybox","kernel":"vmlinuz","initrd":"initrd.img","cmdline":"console=ttyS0 quiet","disk":"disk.qcow2","virtioDrivers":true}
EOF

qemu-img create -q -f qcow2 "$W/disk.qcow2" 1G
cat > "$W/image.json" <<'EOF'
{"name":"win2008","osFamily":"Windows","osVariant":"win2k8r2","firmware":"Bios","virtioDrivers":false,"diskBus":"sata","nicModel":"e1000","minMemoryMiB":512}
EOF

# swap the new trees in, then record the inputs
rm -f "$OUT/.inputs"
for d in vflinux win2008 vfwin; do
    rm -rf -- "$OUT/$d.old"
    [[ -e $OUT/$d ]] && mv -- "$OUT/$d" "$OUT/$d.old"
    mv -- "$B/$d" "$OUT/$d"
    rm -rf -- "$OUT/$d.old"
done
printf '%s\n' "$INPUTS" > "$OUT/.inputs"
printf 'build-guest: built %s (kernel %s, initrd %s KiB) in %d ms\n' "$OUT" "$KVER" \
    $(( $(stat -c %s "$OUT/vflinux/initrd.img") / 1024 )) $(( ($(date +%s%N) - T0) / 1000000 ))
