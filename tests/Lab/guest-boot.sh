#!/usr/bin/env bash
# guest-boot.sh - proves the lab guest images build and boot for real (root, no KVM needed).
#
# Builds lab/guest into a cache dir, then inside a private network namespace (vfgtest-$$:
# bridge 192.0.2.1/24, dnsmasq DHCP 192.0.2.50-99) boots under TCG:
#   1. vflinux with virtio-net, virtio-blk and virtio-scsi disks, IDE CD-ROM NoCloud seed
#   2. vflinux with e1000 and a SATA (ahci) disk + SATA CD-ROM seed (the Windows-style devices;
#      the seed is a short, unpadded ISO as other writers make)
#   3. win2008 disk with e1000 + SATA: qemu runs and SeaBIOS tries the disk
# and checks DHCP, ping, HTTP (page names the instance, /cloud.txt has the seed's key) and
# TCP echo. Everything it creates is removed on exit, also on failure or Ctrl+C.
#
# Environment: VF_GUEST_CACHE  build dir (default /var/cache/virtfleet/guests, as Start-VfLab)
#              VF_BOOT_TIMEOUT seconds to wait for VF-GUEST-READY (default 60)
#              VF_GUEST_APPEND extra kernel arguments (vf.debug=1 logs init timings)
#              VF_VERBOSE=1    print each guest's serial log
set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
GUEST=$ROOT/lab/guest
CACHE=${VF_GUEST_CACHE:-/var/cache/virtfleet/guests}
BOOT_TIMEOUT=${VF_BOOT_TIMEOUT:-60}
NS=vfgtest-$$
BR=vfbr0
NET=192.0.2            # documentation range only (RFC 5737)

(( EUID == 0 )) || { echo "guest-boot: needs root (netns, tap)" >&2; exit 2; }
for t in qemu-system-x86_64 qemu-img dnsmasq ip curl jq ssh-keygen genisoimage busybox; do
    command -v "$t" >/dev/null || { echo "guest-boot: $t missing" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/vfgtest.XXXXXX)
QEMU_PIDS=() DNSMASQ_PID=
pass=0 failed=0

stop_pid() {   # TERM, then KILL after 5 s; a child of ours, so its pid stays ours until reaped
    local p=$1 i
    [[ -n $p ]] || return 0
    if kill -0 "$p" 2>/dev/null; then
        kill "$p" 2>/dev/null
        for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    fi
    wait "$p" 2>/dev/null
    for i in "${!QEMU_PIDS[@]}"; do [[ ${QEMU_PIDS[i]} == "$p" ]] && unset 'QEMU_PIDS[i]'; done
    return 0
}
cleanup() {
    local p
    trap - EXIT INT TERM
    for p in "${QEMU_PIDS[@]}" $DNSMASQ_PID; do stop_pid "$p"; done
    ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null        # takes the bridge and the taps with it
    rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'echo "guest-boot: interrupted" >&2; exit 130' INT TERM

ok()   { pass=$((pass + 1));   printf 'ok   - %s\n' "$*"; }
bad()  { failed=$((failed + 1)); printf 'FAIL - %s\n' "$*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
quiet() { "$@" >/dev/null 2>&1; }
has()  { [[ $1 == *"$2"* ]]; }
ms()   { echo $(( $(date +%s%N) / 1000000 )); }
nsx()  { ip netns exec "$NS" "$@"; }

# ---- build (twice: the second must be a cache hit) -------------------------------------
t=$(ms)
if ! out=$("$GUEST/build-guest.sh" "$CACHE" 2>&1); then
    echo "$out"; bad "build-guest.sh"; echo "$pass passed, $failed failed"; exit 1
fi
BUILD_MS=$(( $(ms) - t ))
echo "# $out"
ok "build-guest.sh into $CACHE (${BUILD_MS} ms)"
t=$(ms); out=$("$GUEST/build-guest.sh" "$CACHE" 2>&1); CACHED_MS=$(( $(ms) - t ))
check "second build is a cache hit (${CACHED_MS} ms)" has "$out" "up to date"

V=$CACHE/vflinux W=$CACHE/win2008
jqt() { jq -e "$@" >/dev/null; }
check "vflinux/image.json" jqt '.name == "vflinux" and .osFamily == "Linux" and .osVariant == "busybox"
    and .kernel == "vmlinuz" and .initrd == "initrd.img" and .cmdline == "console=ttyS0 quiet"
    and .disk == "disk.qcow2" and .virtioDrivers == true' "$V/image.json"
check "win2008/image.json" jqt '.name == "win2008" and .osFamily == "Windows" and .osVariant == "win2k8r2"
    and .firmware == "Bios" and .virtioDrivers == false and .diskBus == "sata" and .nicModel == "e1000"
    and .minMemoryMiB == 512' "$W/image.json"
qcow_ok() {   # valid qcow2, no backing file, no data file, expected virtual size
    local info
    info=$(qemu-img info -f qcow2 --output=json "$1") && qemu-img check -q -f qcow2 "$1" &&
    jq -e --argjson s "$2" '.format == "qcow2" and .["virtual-size"] == $s and (has("backing-filename") | not)
        and ((.["format-specific"].data["data-file"] // null) == null)' <<< "$info" >/dev/null
}
check "vflinux/disk.qcow2 is a clean 64 MiB qcow2" qcow_ok "$V/disk.qcow2" $((64 << 20))
check "win2008/disk.qcow2 is a clean 1 GiB qcow2" qcow_ok "$W/disk.qcow2" $((1 << 30))
check "vflinux/initrd.img is a gzip cpio with /init" \
    bash -c 'gzip -dc "$1" | cpio -t --quiet 2>/dev/null | grep -qx init' _ "$V/initrd.img"

# ---- network namespace with bridge and DHCP ----------------------------------------------
ip netns add "$NS" || { bad "create netns $NS"; echo "$pass passed, $failed failed"; exit 1; }
nsx ip link set lo up
nsx ip link add "$BR" type bridge
nsx ip addr add "$NET.1/24" dev "$BR"
nsx ip link set "$BR" up
nsx dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --user=root --group=root \
    --interface="$BR" --bind-interfaces --dhcp-authoritative \
    --dhcp-range="$NET.50,$NET.99,255.255.255.0,10m" --dhcp-leasefile="$TMP/leases" \
    --pid-file="$TMP/dnsmasq.pid" --log-dhcp --log-facility="$TMP/dnsmasq.log" &
DNSMASQ_PID=$!
dnsmasq_ready() {   # its log says the DHCP socket is bound (bounded: 5 s)
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q 'DHCP, sockets bound' "$TMP/dnsmasq.log" 2>/dev/null && return 0
        kill -0 "$DNSMASQ_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
check "dnsmasq serves DHCP on $BR in $NS" dnsmasq_ready

# ---- boot helpers ------------------------------------------------------------------------
# start_qemu NAME ARGS...: runs qemu in the netns with a tap on the bridge (tap-NAME);
# sets QPID and QLOG (serial log)
start_qemu() {
    local name=$1; shift
    local tap=tap-$name
    nsx ip tuntap add dev "$tap" mode tap && nsx ip link set "$tap" master "$BR" up || return 1
    QLOG=$TMP/$name.serial
    : > "$QLOG"
    nsx qemu-system-x86_64 -accel tcg -m "${MEM:-128}" -nographic -monitor none -no-reboot \
        -serial "file:$QLOG" -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" "$@" \
        </dev/null >"$TMP/$name.qemu" 2>&1 &
    QPID=$!
    QEMU_PIDS+=("$QPID")
}
# wait_for FILE PATTERN SECONDS: polls a log until PATTERN shows up or qemu exits
wait_for() {
    local end=$(( $(ms) + $3 * 1000 ))
    while (( $(ms) < end )); do
        grep -aq -- "$2" "$1" && return 0
        kill -0 "$QPID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

BOOT_TIMES=() GUEST_UPTIMES=()
# short_seed ISO IID HOST KEY: a NoCloud seed written by hand, Rock Ridge only and unpadded (27
# sectors: shorter than the 32 busybox findfs reads); the guest must still find it
short_seed() {
    local d=$TMP/short-seed
    mkdir -p "$d"
    printf 'instance-id: %s\nlocal-hostname: %s\n' "$2" "$3" > "$d/meta-data"
    printf '#cloud-config\nhostname: %s\nssh_authorized_keys:\n  - %s\n' "$3" "$4" > "$d/user-data"
    genisoimage -quiet -no-pad -V cidata -r -o "$1" "$d/user-data" "$d/meta-data" &&
        (( $(stat -c %s "$1") < 32 * 2048 ))
}

# boot_vflinux NAME NICMODEL DRIVER "DISKS" MAC SEEDTOOL QEMU-STORAGE-ARGS...
#   SEEDTOOL is make-seed or short_seed; @DISK@ in the storage args becomes an overlay on
#   vflinux/disk.qcow2; DISKS are the block devices the guest must report
boot_vflinux() {
    local name=$1 nicmodel=$2 driver=$3 disks=$4 mac=$5 seedtool=$6; shift 6
    local host=vf-$name-$$ iid=iid-$name-$$ key ip ready page cloud t0 bootms echo_out
    ssh-keygen -q -t ed25519 -N '' -C "vftest-$name@$$" -f "$TMP/$name.key" || return 1
    key=$(< "$TMP/$name.key.pub")
    if [[ $seedtool == make-seed ]]; then
        "$GUEST/make-seed.sh" "$TMP/$name-seed.iso" --instance-id "$iid" --hostname "$host" --ssh-key "$key"
    else
        short_seed "$TMP/$name-seed.iso" "$iid" "$host" "$key"
    fi || { bad "$name: $seedtool"; return; }
    qemu-img create -q -f qcow2 -b "$V/disk.qcow2" -F qcow2 "$TMP/$name.qcow2" || { bad "$name: overlay"; return; }

    set -- "${@//@DISK@/$TMP/$name.qcow2}"
    echo "# boot $name: $nicmodel NIC, $*"
    t0=$(ms)
    start_qemu "$name" -device "$nicmodel,netdev=n0,mac=$mac" \
        -kernel "$V/vmlinuz" -initrd "$V/initrd.img" \
        -append "$(jq -r .cmdline "$V/image.json")${VF_GUEST_APPEND:+ $VF_GUEST_APPEND}" \
        "$@" || { bad "$name: start qemu"; return; }
    if ! wait_for "$QLOG" 'VF-GUEST-READY' "$BOOT_TIMEOUT"; then
        bad "$name: VF-GUEST-READY within ${BOOT_TIMEOUT} s"
        echo "# serial log:"; tr -d '\r' < "$QLOG" | tail -n 20 | sed 's/^/#   /'
        echo "# qemu:"; sed 's/^/#   /' "$TMP/$name.qemu"
        stop_pid "$QPID"; return
    fi
    bootms=$(( $(ms) - t0 ))
    BOOT_TIMES+=("$name=${bootms}ms")
    ready=$(tr -d '\r' < "$QLOG" | grep -a -o 'VF-GUEST-READY .*' | head -n 1)
    ok "$name: $ready after ${bootms} ms"
    ip=$(sed -n 's/.* ip=\([0-9.]*\).*/\1/p' <<< "$ready")
    check "$name: ready line carries the seed hostname" has "$ready" "hostname=$host "
    check "$name: DHCP address $ip is in $NET.50-99" \
        bash -c '[[ $1 =~ ^192\.0\.2\.([0-9]+)$ ]] && (( BASH_REMATCH[1] >= 50 && BASH_REMATCH[1] <= 99 ))' _ "$ip"
    check "$name: dnsmasq lease for $ip, $mac, $host" grep -q " $mac $ip $host " "$TMP/leases"
    check "$name: ping $ip" quiet nsx busybox ping -c 2 -W 3 "$ip"
    page=$(nsx curl -fsS --max-time 10 "http://$ip/" 2>&1)
    check "$name: GET / names the instance" has "$page" "vflinux hostname=$host instance-id=$iid ip=$ip"
    check "$name: guest NIC driver is $driver" has "$page" "driver=$driver "
    for d in $disks; do check "$name: guest sees disk $d" grep -Eq "^disks=(.* )?$d( |$)" <<< "$page"; done
    GUEST_UPTIMES+=("$name=$(sed -n 's/.*ready-uptime=\([0-9.]*\).*/\1/p' <<< "$page")s")
    cloud=$(nsx curl -fsS --max-time 10 "http://$ip/cloud.txt" 2>&1)
    check "$name: /cloud.txt has the seed's ssh key" grep -qxF -- "$key" <<< "$cloud"
    check "$name: /cloud.txt has hostname and instance id" \
        bash -c 'grep -qx "hostname=$2" <<< "$1" && grep -qx "instance-id=$3" <<< "$1"' _ "$cloud" "$host" "$iid"
    [[ ${VF_VERBOSE:-0} == 1 ]] && tr -d '\r' < "$QLOG" | grep -av '^\s*$' | sed 's/^/#   /'
    echo_out=$(printf 'vf-echo-%s\n' "$$" | nsx timeout 5 busybox nc "$ip" 7 2>/dev/null)
    check "$name: TCP echo on port 7" has "$echo_out" "vf-echo-$$"
    stop_pid "$QPID"
}

# 1. virtio everything (virtio-blk disk, a virtio-scsi disk); seed on the default IDE CD-ROM
qemu-img create -q -f qcow2 "$TMP/scsi.qcow2" 16M
boot_vflinux virtio virtio-net-pci virtio_net "vda sda" 52:54:00:c0:00:02 make-seed \
    -drive "file=@DISK@,format=qcow2,if=virtio" \
    -device virtio-scsi-pci,id=scsi0 -drive "if=none,id=d1,file=$TMP/scsi.qcow2,format=qcow2" \
    -device scsi-hd,bus=scsi0.0,drive=d1 \
    -drive "file=$TMP/virtio-seed.iso,format=raw,media=cdrom,readonly=on"

# 2. Windows-style devices: e1000 NIC, disk and seed on an ahci (SATA) controller; the seed
#    is a short hand-made ISO
boot_vflinux sata e1000 e1000 sda 52:54:00:c0:00:03 short_seed \
    -device ahci,id=sata0 \
    -drive "if=none,id=d0,file=@DISK@,format=qcow2" -device ide-hd,bus=sata0.0,drive=d0 \
    -drive "if=none,id=s0,file=$TMP/sata-seed.iso,format=raw,media=cdrom,readonly=on" \
    -device ide-cd,bus=sata0.1,drive=s0

# 3. win2008: blank disk on SATA, e1000, BIOS; SeaBIOS must reach the disk and find no boot sector
qemu-img create -q -f qcow2 -b "$W/disk.qcow2" -F qcow2 "$TMP/win2008.qcow2"
echo "# boot win2008: e1000 NIC, SATA disk, SeaBIOS"
QPID=
: > "$TMP/win2008.bios"
MEM=$(jq -r .minMemoryMiB "$W/image.json") start_qemu win2008 -device e1000,netdev=n0 \
    -device ahci,id=sata0 -drive "if=none,id=d0,file=$TMP/win2008.qcow2,format=qcow2" \
    -device ide-hd,bus=sata0.0,drive=d0,bootindex=1 \
    -chardev "file,id=dbg,path=$TMP/win2008.bios" -device isa-debugcon,iobase=0x402,chardev=dbg
if [[ -n ${QPID:-} ]] && wait_for "$TMP/win2008.bios" 'Booting from Hard Disk' 30; then
    ok "win2008: qemu runs the image and SeaBIOS boots from its SATA disk"
    wait_for "$TMP/win2008.bios" 'not a bootable disk' 10
    check "win2008: blank disk reported as not bootable" grep -aq 'not a bootable disk' "$TMP/win2008.bios"
    check "win2008: domain still running in firmware" kill -0 "$QPID"
else
    bad "win2008: SeaBIOS reached the disk"; tail -n 5 "$TMP/win2008.bios" "$TMP/win2008.qemu" 2>/dev/null | sed 's/^/#   /'
fi
stop_pid "$QPID"

echo "# build ${BUILD_MS} ms (cached ${CACHED_MS} ms)"
echo "# qemu start to VF-GUEST-READY: ${BOOT_TIMES[*]:-none}; guest uptime then: ${GUEST_UPTIMES[*]:-none}"
echo "$pass passed, $failed failed"
(( failed == 0 ))
