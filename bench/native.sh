#!/usr/bin/env bash
# bench/native.sh - issue 18's "warm native against warm virsh" on one lab host: listing its domains through
# LibvirtNative (one open connection, in-process) against `virsh list --all` through the same libvirtd socket, seen
# from the root namespace (<state>/hosts/<host>/fs/run/libvirt/libvirt-sock), so neither pays SSH.
#   bash bench/native.sh [--host vfh8] [--rounds 30]
# Needs a running lab (it never brings the lab up or down) and a build (out/VirtFleet). Run it under the lab lock:
#   flock -o /run/lock/vf-dev-lab.lock bash bench/native.sh
# Setup like T1: bench-<host>-1..4 (64 MiB, type qemu, no disk, idle in SeaBIOS), 2 of them running; removed on exit.
# Results: bench/results/<stamp>-native/{runs.csv,table.txt,env.txt}.
set -o errexit -o nounset -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=vfh8 ROUNDS=30 DOMAINS=4 RUNNING=2
while (($#)); do
    case $1 in
        --host) HOST=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        *) echo "usage: $0 [--host vfhN] [--rounds N]" >&2; exit 2 ;;
    esac
done
[[ $HOST =~ ^vfh[0-9]+$ && $ROUNDS =~ ^[0-9]+$ ]] || { echo "bad --host or --rounds" >&2; exit 2; }
STATE=${VFLAB_STATE_DIR:-/var/lib/virtfleet-lab}
PID=$(cat "$STATE/hosts/$HOST/init.pid" 2>/dev/null) || { echo "$HOST is not in the lab" >&2; exit 1; }
SOCK=$STATE/hosts/$HOST/fs/run/libvirt/libvirt-sock
[[ -S $SOCK ]] || { echo "no libvirtd socket at $SOCK" >&2; exit 1; }
CORE=$ROOT/out/VirtFleet/deps/VirtFleet.Core.dll PWSH=$ROOT/out/tools/pwsh
[[ -f $CORE && -x $PWSH ]] || { echo "build first (./build.sh build)" >&2; exit 1; }
OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-native
mkdir -p "$OUT"
inhost() { nsenter -t "$PID" -m -n -- sh -c "$1"; }

cleanup() {
    inhost "for d in \$(virsh -q list --all --name | grep -E '^bench-$HOST-[0-9]+\$'); do virsh destroy \$d >/dev/null 2>&1; virsh undefine \$d >/dev/null; done" || true
}
trap cleanup EXIT
inhost "
set -e
i=1
while [ \$i -le $DOMAINS ]; do
  d=bench-$HOST-\$i
  virsh dominfo \$d >/dev/null 2>&1 || virsh define /dev/stdin >/dev/null <<XML
<domain type='qemu'><name>\$d</name><description>VirtFleet bench/native.sh (removed at the end of the run)</description>
<memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><bios rebootTimeout='-1'/></os>
<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices></domain>
XML
  [ \$i -gt $RUNNING ] || [ \"\$(virsh domstate \$d)\" = running ] || virsh start \$d >/dev/null
  i=\$((i+1))
done"
{
    echo "command: $0 --host $HOST --rounds $ROUNDS"
    echo "date: $(date -u +%FT%TZ)  build: $(git -C "$ROOT" rev-parse --short HEAD)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "libvirt: $(virsh --version)  host domains: $(inhost 'virsh -q list --all --name | grep -c .')"
} > "$OUT/env.txt"
"$PWSH" -NoProfile -File "$ROOT/bench/native.ps1" "$CORE" "$SOCK" "$ROUNDS" > "$OUT/runs.csv"
python3 - "$OUT" <<'PY' | tee "$OUT/table.txt"
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/runs.csv")) if r["round"] != "0"]
med = {p: statistics.median(float(r["seconds"]) for r in rows if r["path"] == p) for p in ("native", "virsh")}
seen = {p: sorted({(r["domains"], r["bench"]) for r in rows if r["path"] == p}) for p in ("native", "virsh")}
n = len(rows) // 2
print(f"warm listing of one host, {n} rounds (medians); domains seen (all, bench): native {seen['native']}, virsh {seen['virsh']}")
print(f"  native (LibvirtNative, open connection)   {med['native']*1000:8.2f} ms")
print(f"  virsh list --all (new process, same sock)  {med['virsh']*1000:8.2f} ms")
print(f"  ratio native / virsh                       {med['native']/med['virsh']:8.3f}")
PY
