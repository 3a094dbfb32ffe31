#!/usr/bin/env bash
# bench/t2.sh - workload T2: provision 16 instances on 8 lab hosts (2 per host) and remove them again,
# VirtFleet against its peers in the same rounds. Started by bench/run.sh (one attempt; exit 3 = the lab
# changed under the run, run.sh retries).
#
# Environment (set by run.sh): OUT (the run's folder), T2_RUNS, T2_FIRST (first host, default 9: hosts
# vfh9..vfh16, away from the hosts other people's lab tests use), T2_HOSTS (8), T2_PER_HOST (2), ANSIBLE (0|1).
#
# Peers, each a create then a remove in every round, rounds interleaved and rotated:
#   vf_cold   new vfsh per operation (new process, new connections):
#               create: New-VfInstance -Image vflinux -Count 16 -NamePrefix bench-t2vf -InstanceType t1.micro
#                       -Placement RoundRobin -Inventory <bench inventory of the 8 hosts>
#               remove: Remove-VfInstance -Name 'bench-t2vf-*' -Confirm:$false -Inventory .. (each host finds its
#                       instances and removes them in one round trip; before 2026-12-08 the bench piped Get-VfInstance into it)
#   vf_keeper the same two commands, each a new vfsh with the connection keeper on (VF_KEEPER=1, the bench's own
#             XDG_RUNTIME_DIR): a one-shot command as cron or a probe runs it once the user's keeper and warm shell are up
#             (started in round 0, untimed); each run is still a new process
#   vf_warm   the same two commands in ONE vfsh session (bench/t2-warm.ps1, driven through its stdin)
#   ssh_loop  bench/t2/ssh-loop.sh: one ssh per host, all hosts at once, running bench/t2/host-create.sh
#             (qemu-img create -f qcow2 -F qcow2 -b <vflinux disk> + virsh define + virsh start, per domain)
#             or host-remove.sh (virsh destroy + undefine + rm)
#   ansible   ansible-playbook -f 8 bench/t2/create.yml / remove.yml (command: qemu-img create,
#             community.libvirt.virt define + state=running; destroyed + undefine + file absent),
#             new ssh connections per playbook run
# The bench guests' qemu threads get nice 19 as soon as they appear (lib.sh start_renicer: the lab's guests share
# the 2 CPUs with the control plane being measured). After every operation an untimed check (one ssh per host) counts that peer's domains (running after create,
# none and no disk after remove). Before the rounds: the vflinux image is imported to the 8 hosts
# (Import-VfImage: uploads only where missing; it stays there). On exit (also errors, Ctrl+C) every domain
# named bench-t2vf-*, bench-t2ssh-*, bench-t2ans-* on those hosts is destroyed and undefined, and their disks removed.
set -o errexit -o nounset -o pipefail
export LC_ALL=C.UTF-8

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${OUT:?}" "${T2_RUNS:=5}" "${T2_FIRST:=9}" "${T2_HOSTS:=8}" "${T2_PER_HOST:=2}" "${ANSIBLE:=1}"
FIRST=$T2_FIRST LAST=$((T2_FIRST + T2_HOSTS - 1))
TOTAL=$((T2_HOSTS * T2_PER_HOST))
DIR=$OUT/t2
GUEST_CACHE=${VF_GUEST_CACHE:-/var/cache/virtfleet/guests}

LAB_ID= CP_DIR= CLEANED=0 W_PID= W_IN= W_OUT= TOUCHED=0
lab_changed() { [[ -n $LAB_ID && $(lab_identity "$FIRST" "$LAST") != "$LAB_ID" ]]; }
check_lab() {
    if lab_changed; then
        log "the lab changed during T2 (hosts restarted or removed by someone else): $(lab_identity "$FIRST" "$LAST")"
        echo "lab changed: was '$LAB_ID', now '$(lab_identity "$FIRST" "$LAST")'" >> "$OUT/ABORTED.t2"
        exit 3
    fi
}
die() { log "error: $*"; check_lab; echo "$*" >> "$OUT/ABORTED.t2"; exit 1; }

# Removes only what T2 makes: domains bench-t2vf-*, bench-t2ssh-*, bench-t2ans-*; the ssh/Ansible disk folder;
# VirtFleet instance folders of bench-t2vf-* (under the VirtFleet host lock, like VirtFleet itself).
cleanup_script() {
    cat <<'EOF'
V="virsh -q -c qemu:///system"
S=/var/lib/libvirt/virtfleet
install -d -m 0700 /run/virtfleet; exec 9>>/run/virtfleet/host.lock; flock -w 120 9
for d in $($V list --all --name); do
  case "$d" in
    bench-t2vf-*|bench-t2ssh-*|bench-t2ans-*)
      case "$d" in *[!A-Za-z0-9_.-]*) continue ;; esac
      $V destroy "$d" >/dev/null 2>&1; $V undefine --nvram "$d" >/dev/null 2>&1 || $V undefine "$d" >/dev/null 2>&1 || echo "cannot undefine $d" >&2 ;;
  esac
done
rm -rf /var/lib/libvirt/bench-t2 "$S"/instances/bench-t2vf-*
left=$($V list --all --name | grep -c '^bench-t2')
echo "$(hostname): $left T2 domain(s) left"
[ "$left" = 0 ]
EOF
}
cleanup() {
    ((CLEANED)) && return
    CLEANED=1
    trap - EXIT INT TERM
    set +o errexit
    if [[ -n $W_PID ]]; then
        trap '' PIPE; echo quit >&"$W_IN" 2>/dev/null; trap - PIPE
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$W_PID" 2>/dev/null || break; sleep 1; done
        kill "$W_PID" 2>/dev/null
    fi
    stop_renicer
    stop_keeper
    if ((TOUCHED)); then
        log "T2: removing the bench-t2* domains and disks from vfh$FIRST..vfh$LAST"
        cleanup_script > "$DIR/cleanup.sh"
        lab_hosts "$FIRST" "$LAST" 2>/dev/null && on_hosts "$DIR/cleanup.sh" "$DIR/cleanup" ||
            log "warning: T2 cleanup incomplete (see $DIR/cleanup.*.log)"
    fi
    if [[ -n $CP_DIR && -d $CP_DIR ]]; then close_masters "$CP_DIR"; rm -rf "$CP_DIR"; fi
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$DIR"; mkdir -p "$DIR/out"
((T2_HOSTS >= 1 && T2_PER_HOST >= 1 && FIRST >= 1 && LAST <= 128)) || die "T2 hosts out of range"
ensure_lab "$LAST" || die "vflab.sh up $LAST failed (see $OUT/vflab.log)"
lab_hosts "$FIRST" "$LAST" || die "lab status does not list hosts $FIRST..$LAST"
INV=$DIR/inventory.yml ANS_INV=$DIR/inventory.ini
write_vf_inventory "$INV"
write_ansible_inventory "$ANS_INV" t2
HOSTPAIRS=()
for i in "${!ADDRS[@]}"; do HOSTPAIRS+=("${ADDRS[$i]}:${NAMES[$i]}"); done

# ---------------------------------------------------------------- setup
TOUCHED=1
cleanup_script > "$DIR/cleanup.sh"
on_hosts "$DIR/cleanup.sh" "$DIR/precleanup" || die "leftover bench-t2 domains could not be removed"
if [[ ! -f $GUEST_CACHE/vflinux/image.json ]]; then
    log "T2: building the guest images (lab/guest/build-guest.sh $GUEST_CACHE)"
    bash "$ROOT/lab/guest/build-guest.sh" "$GUEST_CACHE" > "$DIR/build-guest.log" 2>&1 || die "build-guest.sh failed (see $DIR/build-guest.log)"
fi
log "T2: Import-VfImage vflinux to vfh$FIRST..vfh$LAST (uploads only where missing)"
"$VFSH" -Command "Import-VfImage -Path '$GUEST_CACHE/vflinux' -Inventory '$INV' | Out-Null" > "$DIR/import-image.log" 2>&1 ||
    die "Import-VfImage failed: $(tail -n 3 "$DIR/import-image.log" | tr '\n' ' ')"
LAB_ID=$(lab_identity "$FIRST" "$LAST")

if ((ANSIBLE)); then
    command -v ansible-playbook >/dev/null || die "ansible-playbook missing (apt-get install ansible), or use --no-ansible"
    ssh -F "$SSHCFG" "root@${ADDRS[0]}" /usr/bin/python3 -c "'import libvirt, lxml'" 2>>"$DIR/setup.log" ||
        die "python3-libvirt/python3-lxml not importable on ${NAMES[0]}"
    CP_DIR=$(mktemp -d /tmp/vfbench-t2cp.XXXXXX)
    write_ansible_cfg "$DIR/ansible.cfg" "$CP_DIR" 8
fi

# check PEERTAG: per host "running total disks" of bench-t2<tag>-* (disks: ssh/Ansible overlays, VirtFleet instance folders)
cat > "$DIR/check.sh" <<'EOF'
t=$1
V="virsh -q -c qemu:///system"
r=$($V list --name | grep -c "^bench-t2$t-")
a=$($V list --all --name | grep -c "^bench-t2$t-")
d=$(ls -d /var/lib/libvirt/bench-t2/bench-t2$t-*.qcow2 /var/lib/libvirt/virtfleet/instances/bench-t2$t-* 2>/dev/null | wc -l)
echo "$r $a $d"
EOF
check() {   # tag -> "running total disks" summed over the hosts
    on_hosts "$DIR/check.sh" "$DIR/out/check" "$1" || { echo "? ? ?"; return; }
    cat "$DIR"/out/check.vfh*.log | awk '{ r += $1; a += $2; d += $3 } END { print r + 0, a + 0, d + 0 }'
}

# ---------------------------------------------------------------- the warm session (a coprocess)
coproc WARM { exec /usr/bin/time -v -o "$DIR/out/vf_warm.time" "$VFSH" -File "$BENCH/t2-warm.ps1" "$INV" "$TOTAL" bench-t2vf 2>"$DIR/out/vf_warm.stderr"; }
# bash unsets WARM and WARM_PID when the coprocess ends, and its descriptors are not usable in subshells:
# keep a copy of the PID and ordinary duplicates of the descriptors
W_PID=$WARM_PID
exec {W_IN}>&"${WARM[1]}" {W_OUT}<&"${WARM[0]}"
WARM_OUT=$DIR/out/vf_warm.txt
: > "$WARM_OUT"
warm_op() {   # op -> sets T_WALL T_RC (and empty user/sys/rss: the session's totals are in vf_warm.time)
    local line
    T_WALL= T_RC=1 T_USER= T_SYS= T_RSS= W_COUNT=0
    local ok=0
    trap '' PIPE   # a write to a session that died fails with EPIPE instead of killing this script
    echo "$1" >&"$W_IN" 2>/dev/null && ok=1
    trap - PIPE
    ((ok)) || { log "the warm session is gone"; return; }
    while IFS= read -r -t 900 -u "$W_OUT" line; do
        echo "$line" >> "$WARM_OUT"
        [[ $line == @@T2@@,* ]] || continue
        IFS=, read -r _ _ T_WALL W_COUNT status <<<"$line"
        if [[ $status == ok ]]; then T_RC=0; else log "vf_warm $1 failed: $status"; fi
        return
    done
    log "the warm session did not answer '$1'"
}

# ---------------------------------------------------------------- rounds
CSV=$DIR/runs.csv
echo "$RUNS_HEADER" > "$CSV"
PEERS=(vf_cold vf_keeper vf_warm ssh_loop)
((ANSIBLE)) && PEERS+=(ansible)
declare -A TAG=([vf_cold]=vf [vf_keeper]=vf [vf_warm]=vf [ssh_loop]=ssh [ansible]=ans)
start_keeper
vf_create="New-VfInstance -Image vflinux -Count $TOTAL -NamePrefix bench-t2vf -InstanceType t1.micro -NoNetwork -Placement RoundRobin -Inventory '$INV'"
vf_remove="Remove-VfInstance -Name 'bench-t2vf-*' -Confirm:\$false -Inventory '$INV'"

op() {   # peer op round -> runs it, records it, checks the result
    local p=$1 o=$2 r=$3 out=$DIR/out/$1.$2.$3.txt cp_run= seen expect
    case $p.$o in
        vf_cold.create) timed "$out" "$VFSH" -Command "$vf_create" ;;
        vf_cold.remove) timed "$out" "$VFSH" -Command "$vf_remove" ;;
        vf_keeper.create) timed "$out" "${KEEPER_ENV[@]}" "$VFSH" -Command "$vf_create" ;;
        vf_keeper.remove) timed "$out" "${KEEPER_ENV[@]}" "$VFSH" -Command "$vf_remove" ;;
        vf_warm.*)      warm_op "$o" ;;
        ssh_loop.*)     timed "$out" "$BENCH/t2/ssh-loop.sh" "$o" "$SSHCFG" "$T2_PER_HOST" "${HOSTPAIRS[@]}" ;;
        ansible.*)      cp_run=$(mktemp -d "$CP_DIR/run.XXXXXX")
                        timed "$out" env ANSIBLE_CONFIG="$DIR/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$cp_run" \
                            ansible-playbook -i "$ANS_INV" -f 8 -e "t2_count=$T2_PER_HOST" "$BENCH/t2/$o.yml" ;;
    esac
    [[ -n $cp_run ]] && { close_masters "$cp_run"; rm -rf "$cp_run"; }
    read -r run all disks <<<"$(check "${TAG[$p]}")"
    if [[ $o == create ]]; then seen=$run expect="$TOTAL $TOTAL $TOTAL"; else seen=$all expect="0 0 0"; fi
    record "$CSV" "$p.$o" "$r" "$seen"
    if [[ "$run $all $disks" != "$expect" ]]; then
        log "T2 $p $o round $r: expected running/domains/disks $expect, found $run $all $disks"
        sed -i '$ s/,[^,]*$/,97/' "$CSV"   # rc 97: wrong end state; not counted in the medians
    fi
    printf -v "LAST_$o" '%s' "$T_WALL"
}

start_renicer 'guest=bench-t2(vf|ssh|ans)-'
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$EPOCHSECONDS
log "T2: $T2_RUNS timed rounds of ${PEERS[*]} (create $TOTAL on vfh$FIRST..vfh$LAST, then remove; round 0 = untimed warm-up of vf_keeper, vf_warm and ssh_loop)"
for ((r = 0; r <= T2_RUNS; r++)); do
    line=
    for ((k = 0; k < ${#PEERS[@]}; k++)); do
        p=${PEERS[$(((k + r) % ${#PEERS[@]}))]}
        # round 0 opens the warm session's connections, starts the keeper and the warm shell, and warms the hosts'
        # caches; the one-shot peers without reuse (new process, new connections every time) gain nothing from it
        ((r == 0)) && [[ $p == vf_cold || $p == ansible ]] && continue
        op "$p" create "$r"
        op "$p" remove "$r"
        line+=" $p=${LAST_create}+${LAST_remove}s"
    done
    log "T2 round $r:$line"
    check_lab
done
stop_renicer
stop_keeper
trap '' PIPE; echo quit >&"$W_IN" 2>/dev/null; trap - PIPE
wait "$W_PID" || log "warning: the warm session exited non-zero (see $DIR/out/vf_warm.stderr)"
W_PID=

{
    echo "workload=T2"
    echo "hosts=$(printf '%s ' "${NAMES[@]}")"
    echo "host_count=$T2_HOSTS"
    echo "per_host=$T2_PER_HOST"
    echo "instances=$TOTAL"
    echo "runs=$T2_RUNS"
    echo "vf_env=${VF_ENV_DESC:-}"
    echo "vf_create=$vf_create"
    echo "vf_remove=$vf_remove"
    echo "ansible=$( ((ANSIBLE)) && ansible --version 2>/dev/null | head -n1)"
    echo "guest_priority=qemu threads of bench-t2 guests reniced to 19 within ~0.1 s of their start (they share the CPUs with the control plane being measured)"
    env_footer "$load_start" "$t_start"
} > "$DIR/env.txt"
touch "$DIR/DONE"
