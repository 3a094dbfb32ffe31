#!/usr/bin/env bash
# bench/migrate.sh - workload M1 (issue 15): move 8 running instances from one lab host to another, VirtFleet against
# a loop of `virsh migrate --live --copy-storage-inc` over ssh, in the same rounds; the ratio of the medians.
#
#   bash bench/migrate.sh                 # 3 rounds on vfh15 -> vfh16 (M_RUNS, M_A, M_B, M_COUNT override)
#
# Each round moves the 8 instances twice: one peer moves them A -> B, the other B -> A (which peer goes first
# alternates by round, so each direction and position is measured for both). Both peers move the instances one
# after the other (a loop), running ones live with their overlay copied, the vflinux base image already on both hosts.
#   vf    one vfsh: Get-VfInstance -Name 'bench-mg-*' -Host <from> | Move-VfInstance -Destination <to>
#         (pre-checks, the move's own key, the XML with taps named in advance, verification, networking, removal of
#         the source's disks: everything Move-VfInstance does)
#   ssh   per instance: ssh <to> mkdir + qemu-img create of the overlay on the same base, the seed copied through
#         ssh | ssh, then virsh -c qemu+ssh://<from>/system migrate --live --persistent --undefinesource
#         --copy-storage-inc <name> qemu+ssh://<to>/system --migrateuri tcp://<to>, then ssh <from> rm -rf the folder
# After every move an untimed check counts the 8 running on the target and none left on the source; a round whose
# check fails is not counted. The guests' qemu threads get nice 19 (lib.sh start_renicer). On exit (also errors and
# Ctrl+C) every domain named bench-mg-* on the two hosts and its folder are removed.
set -o errexit -o nounset -o pipefail
export LC_ALL=C.UTF-8

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${M_RUNS:=3}" "${M_A:=15}" "${M_B:=16}" "${M_COUNT:=8}"
: "${OUT:=$ROOT/bench/results/migrate-$(date +%Y%m%d-%H%M%S)}"
DIR=$OUT/m1
mkdir -p "$DIR/out"
GUEST_CACHE=${VF_GUEST_CACHE:-/var/cache/virtfleet/guests}
STORE=/var/lib/libvirt/virtfleet/instances

if [[ -z ${M_MOVE:-} ]]; then
((M_B > M_A)) || { log "M_B must be above M_A"; exit 2; }
ensure_lab "$M_B"
lab_hosts "$M_A" "$M_A"; A=${NAMES[0]} A_ADDR=${ADDRS[0]}
lab_hosts "$M_B" "$M_B"; B=${NAMES[0]} B_ADDR=${ADDRS[0]}
NAMES=("$A" "$B") ADDRS=("$A_ADDR" "$B_ADDR")
INV=$DIR/inventory.yml
write_vf_inventory "$INV"
SSH=(ssh -F "$SSHCFG" -o BatchMode=yes)
addr_of() { [[ $1 == "$A" ]] && echo "$A_ADDR" || echo "$B_ADDR"; }

cleanup() {
    trap - EXIT INT TERM
    set +o errexit
    stop_renicer
    for h in "$A_ADDR" "$B_ADDR"; do
        "${SSH[@]}" "root@$h" sh -s <<'EOF'
V="virsh -q -c qemu:///system"
install -d -m 0700 /run/virtfleet; exec 9>>/run/virtfleet/host.lock; flock -w 120 9
for d in $($V list --all --name); do
  case "$d" in bench-mg-*) case "$d" in *[!A-Za-z0-9_.-]*) continue ;; esac
    $V destroy "$d" >/dev/null 2>&1; $V undefine "$d" >/dev/null 2>&1 ;; esac
done
rm -rf /var/lib/libvirt/virtfleet/instances/bench-mg-*
EOF
    done
    log "M1: bench-mg-* removed from $A and $B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count() { # host running|all -> how many bench-mg-* domains are running / defined there
    local f=--state-running
    [[ $2 == all ]] && f=--all
    "${SSH[@]}" "root@$(addr_of "$1")" "virsh -q -c qemu:///system list --name $f | grep -c '^bench-mg-' || true"
}

log "M1: Import-VfImage vflinux to $A, $B (uploads only where missing)"
"$VFSH" -Command "Import-VfImage -Path '$GUEST_CACHE/vflinux' -Inventory '$INV' | Out-Null" > "$DIR/import-image.log" 2>&1 ||
    { log "import failed: $(tail -n 3 "$DIR/import-image.log")"; exit 1; }
start_renicer 'qemu-system.*bench-mg-'
log "M1: $M_COUNT instances on $A"
"$VFSH" -Command "New-VfInstance -Image vflinux -Count $M_COUNT -NamePrefix bench-mg -InstanceType t1.micro -NoNetwork -Host $A -Inventory '$INV' | Out-Null" \
    > "$DIR/create.log" 2>&1 || { log "create failed: $(tail -n 3 "$DIR/create.log")"; exit 1; }
[[ $(count "$A" running) == "$M_COUNT" ]] || { log "expected $M_COUNT running on $A"; exit 1; }
fi
SSH=(ssh -F "$SSHCFG" -o BatchMode=yes)
addr_of() { [[ $1 == "$A" ]] && echo "$A_ADDR" || echo "$B_ADDR"; }

# The two movers run as their own process (under /usr/bin/time): bash migrate.sh --move vf|ssh FROM TO.
export VFSH INV SSHCFG KEY A A_ADDR B B_ADDR STORE PY OUT M_MOVE=1
vf_move() { # from to
    "$VFSH" -Command "Get-VfInstance -Name 'bench-mg-*' -Host $1 -Inventory '$INV' | Move-VfInstance -Destination $2 -Inventory '$INV' -Confirm:\$false | Out-Null; if (\$Error.Count) { exit 1 }"
}
ssh_move() { # from to: the ssh loop
    local from=$1 to=$2 fa ta n d base size
    fa=$(addr_of "$from") ta=$(addr_of "$to")
    for n in $("${SSH[@]}" "root@$fa" "virsh -q -c qemu:///system list --name --state-running | grep '^bench-mg-'"); do
        d=$STORE/$n
        read -r base size < <("${SSH[@]}" "root@$fa" "qemu-img info -U --output=json $d/root.qcow2" |
            "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["backing-filename"], j["virtual-size"])')
        "${SSH[@]}" "root@$ta" "mkdir -p $d && qemu-img create -q -f qcow2 -F qcow2 -b $base $d/root.qcow2 $size" || return 1
        "${SSH[@]}" "root@$fa" "cat $d/seed.iso" | "${SSH[@]}" "root@$ta" "cat > $d/seed.iso" || return 1
        virsh -q -c "qemu+ssh://root@$fa/system?keyfile=$KEY&no_verify=1" migrate --live --persistent --undefinesource --copy-storage-inc \
            "$n" "qemu+ssh://root@$ta/system?keyfile=$KEY&no_verify=1" --migrateuri "tcp://$ta" || return 1
        "${SSH[@]}" "root@$fa" "rm -rf $d" || return 1
    done
}

if [[ ${1:-} == --move ]]; then "${2}_move" "$3" "$4"; exit; fi

CSV=$DIR/runs.csv
echo "$RUNS_HEADER" > "$CSV"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg) T_START=$EPOCHSECONDS
here=$A there=$B
for ((r = 1; r <= M_RUNS; r++)); do
    if ((r % 2)); then order=(vf ssh); else order=(ssh vf); fi
    for peer in "${order[@]}"; do
        out=$DIR/out/$peer.$r
        timed "$out" bash "$BENCH/migrate.sh" --move "$peer" "$here" "$there"
        got="$(count "$there" running)/$(count "$here" all)"
        record "$CSV" "$peer" "$r" "$got"
        log "M1 round $r: $peer moved $here -> $there in ${T_WALL} s (running there / left here: $got, rc $T_RC)"
        [[ $got == "$M_COUNT/0" && $T_RC == 0 ]] || { log "round $r: $peer did not get there; stopping"; exit 1; }
        tmp=$here here=$there there=$tmp
    done
done

{
    echo "hosts=$A $B"
    echo "instances=$M_COUNT"
    echo "runs=$M_RUNS"
    env_footer "$LOAD_START" "$T_START"
} > "$DIR/env.txt"
touch "$DIR/DONE"
"$PY" - "$CSV" "$M_COUNT" <<'EOF' | tee "$DIR/table.txt"
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["rc"] == "0"]
med = {p: statistics.median(float(r["wall_s"]) for r in rows if r["workload"] == p) for p in ("vf", "ssh")}
n = sum(1 for r in rows if r["workload"] == "vf")
print(f"M1 move {sys.argv[2]} running instances between two hosts, {n} rounds (median wall time)")
print(f"  VirtFleet Move-VfInstance       {med['vf']:.2f} s")
print(f"  ssh loop of virsh migrate       {med['ssh']:.2f} s")
print(f"  VirtFleet / ssh loop            {med['vf'] / med['ssh']:.2f}")
EOF
