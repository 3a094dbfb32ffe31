#!/usr/bin/env bash
# bench/run.sh - VirtFleet's benchmarks on the lab fleet, each workload measured against its peers in the
# same run (interleaved, rotated rounds; medians). Linux, root, Debian 12.
#
#   bash bench/run.sh [workloads] [options]     (./build.sh bench [options] builds first, then runs this)
#
# Workloads (default: all of them, about 15 minutes on 2 CPUs):
#   --t1            T1: list all instances on 8 hosts x 4 domains (2 running): vf cold, vf warm,
#                   ssh xargs -P8, Ansible list_vms (new connections / reused ControlPersist masters)
#   --t2            T2: create 16 instances on hosts vfh9..vfh16 (2 per host) and remove them: vf cold,
#                   vf warm, parallel ssh loop, Ansible playbook
#   --t3            T3: the T1 listing on 8, 16, 32, 64, 128 hosts (up to --hosts-max): vf cold, vf warm and
#                   peak RSS, ssh xargs -P<hosts>. With --t1 the 8-host step is T1's run.
#   --import        module import time (vfsh with and without the module)
#   --migrate       M1: move 8 running instances from vfh15 to vfh16 and back: Move-VfInstance against a loop of
#                   virsh migrate --live --copy-storage-inc over ssh (bench/migrate.sh)
# Options:
#   --hosts-max N       largest T3 host count (default 64; steps 8 16 32 64 128 up to N, and N; at most 128)
#   --t3-steps "A B.."  T3 host counts explicitly (ascending, each 1..128)
#   --hosts N           T1's host count (default 8)
#   -n, --runs N        timed T1 rounds (default 5; one untimed warm-up round first)
#   --t3-runs N         timed rounds per further T3 step (default 3)
#   -w, --warm-calls N  timed calls in each warm vfsh session (default 5)
#   --t2-runs N         timed T2 rounds (default 3; one untimed warm-up round of the warm session first)
#   --import-runs N     timed import rounds (default 5)
#   --m1-runs N         timed M1 rounds (default 2; each moves the 8 instances once per peer)
#   --vf-env NAME=VALUE an environment variable for every vfsh run (repeatable; shown in the results), e.g.
#                       DOTNET_ThreadPool_ForceMinWorkerThreads=40 to try a runtime setting
#   --domains N         domains per host for T1/T3 (default 4)    --running N  running per host (default 2)
#   --vf auto|get|test  what "vf" lists: Get-VfInstance -All, Test-VfHost (stand-in), or auto (Get-VfInstance
#                       when a probe call lists every bench domain)
#   --libvirt-paths  with T1: also the warm listing through the native libvirt path against the virsh path, in one
#                   session (bench/warm-paths.ps1, $env:VF_LIBVIRT per call); list-N/paths.csv, paths-table.txt
#   --no-ansible        skip the Ansible peers (T1 and T2)
#   --no-chart          no PNG (else python3-matplotlib, installed with apt-get when missing)
#   --attempts N        the lab is shared: when someone restarts or removes hosts mid-workload, clean up,
#                       wait --retry-wait seconds (default 90) and run that workload again, up to N times
#                       (default 3); T3 steps already complete are kept
#   --no-import / --keep-lab   accepted for compatibility (--no-import = leave the import section out)
#
# The lab is shared with other people's tests: this script only ever runs "lab/vflab.sh up N" (idempotent, adds
# hosts, only when a needed host is missing or down), never "down", never Stop-VfLab or Start-VfLab, never a
# shrink; it gives VirtFleet bench-written inventories (not the lab's inventory.yml, which other sessions use);
# it defines, starts and removes only domains named bench-vfh<i>-<n> (T1/T3), bench-t2vf-*, bench-t2ssh-*,
# bench-t2ans-* (T2, on vfh9..vfh16 only) and bench-mg-* (M1, on vfh15 and vfh16 only), with their disks; on exit, also
# on errors and Ctrl+C, they are removed.
#
# Output: bench/results/<stamp>/ (gitignored): table.txt (printed), summary.csv, t3.png (time and memory
# against host count), env.txt, and per workload list-<N>/, t2/, import/ with runs.csv (every run: wall,
# user, sys, peak RSS, what it saw, exit code), warm.csv, env.txt and each run's output.
# bench/results/latest points at the newest run.
set -o errexit -o nounset -o pipefail
export LC_ALL=C.UTF-8

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -o/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

DO_T1=0 DO_T2=0 DO_T3=0 DO_IMPORT=0 DO_MIGRATE=0 SELECTED=0 NO_IMPORT=0 M1_RUNS=2
HOSTS_MAX=64 T3_STEPS= T1_HOSTS=8 RUNS=5 T3_RUNS=3 WARM_CALLS=5 T2_RUNS=3 IMPORT_RUNS=5 DOMAINS=4 RUNNING=2 VF_MODE=auto
VF_ENV=()
ANSIBLE=1 CHART=1 ATTEMPTS=3 RETRY_WAIT=90 LIBVIRT_PATHS=0
while (($#)); do
    case $1 in
        --t1) DO_T1=1 SELECTED=1 ;;
        --t2) DO_T2=1 SELECTED=1 ;;
        --t3) DO_T3=1 SELECTED=1 ;;
        --import) DO_IMPORT=1 SELECTED=1 ;;
        --migrate) DO_MIGRATE=1 SELECTED=1 ;;
        --m1-runs) M1_RUNS=${2:?}; shift ;;
        --hosts-max) HOSTS_MAX=${2:?}; shift ;;
        --t3-steps) T3_STEPS=${2:?}; shift ;;
        --hosts) T1_HOSTS=${2:?}; shift ;;
        -n|--runs) RUNS=${2:?}; shift ;;
        --t3-runs) T3_RUNS=${2:?}; shift ;;
        -w|--warm-calls) WARM_CALLS=${2:?}; shift ;;
        --vf-env) [[ ${2:-} =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || die "--vf-env wants NAME=VALUE"; VF_ENV+=("$2"); shift ;;
        --t2-runs) T2_RUNS=${2:?}; shift ;;
        --import-runs) IMPORT_RUNS=${2:?}; shift ;;
        --domains) DOMAINS=${2:?}; shift ;;
        --running) RUNNING=${2:?}; shift ;;
        --vf) VF_MODE=${2:?}; shift ;;
        --no-ansible) ANSIBLE=0 ;;
        --libvirt-paths) LIBVIRT_PATHS=1 ;;
        --no-chart) CHART=0 ;;
        --no-import) NO_IMPORT=1 ;;
        --keep-lab) ;;
        --down) die "--down is gone: the lab is shared with other people's tests and this script never takes it down" ;;
        --attempts) ATTEMPTS=${2:?}; shift ;;
        --retry-wait) RETRY_WAIT=${2:?}; shift ;;
        -h|--help) usage 0 ;;
        *) log "unknown option: $1"; usage 2 ;;
    esac
    shift
done
((SELECTED)) || DO_T1=1 DO_T2=1 DO_T3=1 DO_IMPORT=1 DO_MIGRATE=1
((NO_IMPORT)) && DO_IMPORT=0
for v in HOSTS_MAX T1_HOSTS RUNS T3_RUNS WARM_CALLS T2_RUNS IMPORT_RUNS M1_RUNS DOMAINS RUNNING ATTEMPTS RETRY_WAIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "${v,,} must be a number"
done
((RUNS >= 1 && T3_RUNS >= 1 && WARM_CALLS >= 1 && T2_RUNS >= 1 && IMPORT_RUNS >= 1 && M1_RUNS >= 1 && DOMAINS >= 1 && DOMAINS <= 32 && RUNNING <= DOMAINS)) ||
    die "out of range: runs>=1, warm-calls>=1, t2-runs>=1, import-runs>=1, 1<=domains<=32, running<=domains"
((HOSTS_MAX >= 1 && HOSTS_MAX <= 128 && T1_HOSTS >= 1 && T1_HOSTS <= 128)) || die "host counts must be 1..128"
[[ $VF_MODE =~ ^(auto|get|test)$ ]] || die "--vf must be auto, get or test"

# The listing steps: T3's host counts, and T1's (which doubles as T3's point at that count).
if [[ -z $T3_STEPS ]]; then
    for n in 8 16 32 64 128; do ((n <= HOSTS_MAX)) && T3_STEPS+="$n "; done
    [[ " $T3_STEPS " == *" $HOSTS_MAX "* ]] || T3_STEPS+="$HOSTS_MAX"
fi
for n in $T3_STEPS; do [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 128)) || die "--t3-steps: host counts are 1..128, got '$n'"; done
STEPS=
((DO_T3)) && STEPS+=" $T3_STEPS"
((DO_T1)) && STEPS+=" $T1_HOSTS"
STEPS=$(tr ' ' '\n' <<<"$STEPS" | { grep . || true; } | sort -n | uniq | tr '\n' ' ')
T1_STEP=0
((DO_T1)) && T1_STEP=$T1_HOSTS

# ---------------------------------------------------------------- preflight
((EUID == 0)) || die "must run as root (the lab needs network namespaces)"
[[ -f $VFLAB ]] || die "missing $VFLAB"
if [[ ! -x $VFSH || ! -f $PSD1 ]]; then
    log "out/vfsh or out/VirtFleet missing: building (./build.sh build)"
    (cd "$ROOT" && ./build.sh build) >&2 || die "build failed"
fi
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
if [[ ! -x /usr/bin/time ]]; then log "installing GNU time"; apt_install time || die "apt-get install time failed"; fi
for c in ssh xargs flock timeout pgrep renice "$PY"; do command -v "$c" >/dev/null || die "missing command: $c"; done
if ((ANSIBLE && (DO_T1 || DO_T2))); then
    command -v ansible >/dev/null || die "ansible missing (apt-get install ansible python3-libvirt python3-lxml), or use --no-ansible"
fi
if ((CHART)) && ! "$PY" -c 'import matplotlib' 2>/dev/null; then
    log "installing python3-matplotlib (for the chart; --no-chart skips it)"
    apt_install python3-matplotlib || { log "warning: python3-matplotlib could not be installed: no chart"; CHART=0; }
fi

exec 8>/run/lock/virtfleet-bench.lock
flock -n 8 || die "another bench/run.sh is running (lock /run/lock/virtfleet-bench.lock)"

# One build for the whole run: out/ may be rebuilt by someone else meanwhile, so vfsh and the module are
# copied to a private folder first (vfsh finds the module next to it: <snapshot>/VirtFleet).
SNAP=$(mktemp -d /tmp/vfbench-build.XXXXXX)
trap 'rm -rf "$SNAP"' EXIT
for attempt in 1 2 3; do
    rm -rf "${SNAP:?}"/*
    if cp -a "$ROOT/out/vfsh" "$SNAP/vfsh" && cp -a "$ROOT/out/VirtFleet" "$SNAP/VirtFleet" &&
        vf_err=$("$SNAP/vfsh/vfsh" -Command 'if (-not (Get-Command Get-VfInstance -ErrorAction SilentlyContinue)) { exit 1 }' 2>&1); then
        break
    fi
    log "the copy of out/ does not start (attempt $attempt; out/ may be mid-rebuild): $(head -c 200 <<<"${vf_err:-}")"
    ((attempt < 3)) || die "out/vfsh/vfsh with out/VirtFleet does not start (./build.sh build?)"
    sleep 20
done
VFSH=$SNAP/vfsh/vfsh PSD1=$SNAP/VirtFleet/VirtFleet.psd1
VF_ENV_DESC="${VF_ENV[*]}"
for e in "${VF_ENV[@]}"; do export "${e?}"; done
export VFSH PSD1 VF_ENV_DESC

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$BENCH/results/$STAMP
mkdir -p "$OUT"
export OUT RUNS T3_RUNS WARM_CALLS DOMAINS RUNNING VF_MODE ANSIBLE STEPS T1_STEP T2_RUNS IMPORT_RUNS LIBVIRT_PATHS
export T2_FIRST=9 T2_HOSTS=8 T2_PER_HOST=2 M_RUNS=$M1_RUNS M_A=15 M_B=16
NEED=0
[[ -n ${STEPS// /} ]] && NEED=$(tr ' ' '\n' <<<"$STEPS" | grep . | tail -n 1)
((DO_T2 && NEED < T2_FIRST + T2_HOSTS - 1)) && NEED=$((T2_FIRST + T2_HOSTS - 1))
((DO_MIGRATE && NEED < M_B)) && NEED=$M_B

log "results: $OUT"
log "workloads:$( ((DO_IMPORT)) && echo -n ' import')$( ((DO_T1)) && echo -n " T1($T1_HOSTS hosts)")$( ((DO_T3)) && echo -n " T3($T3_STEPS)")$( ((DO_T2)) && echo -n ' T2(vfh9..vfh16)')$( ((DO_MIGRATE)) && echo -n ' M1(vfh15<->vfh16)'); lab hosts needed: $NEED"
{
    echo "stamp=$STAMP"
    echo "command=bash bench/run.sh $*"
    echo "workloads=$( ((DO_IMPORT)) && echo -n 'import ')$( ((DO_T1)) && echo -n 'T1 ')$( ((DO_T3)) && echo -n 'T3 ')$( ((DO_T2)) && echo -n 'T2 ')$( ((DO_MIGRATE)) && echo -n 'M1')"
    echo "t1_hosts=$T1_HOSTS"
    echo "t3_steps=$( ((DO_T3)) && echo "$T3_STEPS")"
    echo "vf_env=$VF_ENV_DESC"
    echo "build=snapshot of out/vfsh and out/VirtFleet taken at the start (out/ built $(date -r "$ROOT/out/vfsh/vfsh" '+%Y-%m-%dT%H:%M:%S'))"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    env_common
} > "$OUT/env.txt"

# Leftover check at the end: bench domains still on hosts 1..NEED (there should be none), removed if found.
SWEPT=0
sweep() {
    ((SWEPT || NEED == 0)) && return 0
    SWEPT=1
    local json n=0
    cat > "$OUT/sweep.sh" <<'EOF'
V="virsh -q -c qemu:///system"
n=0
for d in $($V list --all --name); do
  case "$d" in
    bench-vfh*-*|bench-t2vf-*|bench-t2ssh-*|bench-t2ans-*|bench-mg-*)
      case "$d" in *[!A-Za-z0-9_.-]*) continue ;; esac
      n=$((n + 1)); $V destroy "$d" >/dev/null 2>&1; $V undefine "$d" >/dev/null 2>&1 ;;
  esac
done
[ -d /var/lib/libvirt/bench-t2 ] && { n=$((n + 1)); rm -rf /var/lib/libvirt/bench-t2; }
ls -d /var/lib/libvirt/virtfleet/instances/bench-t2vf-* >/dev/null 2>&1 && { n=$((n + 1)); rm -rf /var/lib/libvirt/virtfleet/instances/bench-t2vf-*; }
ls -d /var/lib/libvirt/virtfleet/instances/bench-mg-* >/dev/null 2>&1 && { n=$((n + 1)); rm -rf /var/lib/libvirt/virtfleet/instances/bench-mg-*; }
echo "$n"
EOF
    local have
    have=$(lab_status | status_hosts | awk -v n="$NEED" '$4 == "true" { i = substr($1, 4) + 0; if (i <= n && i > m) m = i } END { print m + 0 }')
    ((have > 0)) || { log "sweep: no lab hosts running"; return 0; }
    lab_hosts 1 "$have" 2>/dev/null || { log "sweep: lab hosts 1..$have not all running; skipped"; return 0; }
    on_hosts "$OUT/sweep.sh" "$OUT/sweep" || true
    n=$(cat "$OUT"/sweep.vfh*.log 2>/dev/null | awk '/^[0-9]+$/ { s += $1 } END { print s + 0 }')
    if ((n == 0)); then log "sweep: no bench domains or disks left on hosts 1..$have"
    else log "sweep: removed $n leftover bench domain(s)/disk folder(s) on hosts 1..$have"; fi
    echo "leftovers_swept=$n" >> "$OUT/env.txt"
}
trap 'sweep; rm -rf "$SNAP"' EXIT

FAILED=()
workload() {   # name script: runs one workload as child attempts; exit 3 = the lab changed, retried
    local name=$1 script=$2 attempt rc
    for ((attempt = 1; ; attempt++)); do
        rc=0
        bash "$BENCH/$script" 8>&- || rc=$?   # the lock fd must not leak into lab daemons
        ((rc == 0)) && return 0
        if ((rc == 3 && attempt < ATTEMPTS)); then
            log "$name: the lab changed under the run (attempt $attempt of $ATTEMPTS): retrying in $RETRY_WAIT s"
            sleep "$RETRY_WAIT"
            continue
        fi
        log "$name failed (exit $rc)"
        FAILED+=("$name")
        return 0
    done
}

T_START=$EPOCHSECONDS
if ((NEED > 0)); then ensure_lab "$NEED" || die "vflab.sh up $NEED failed (see $OUT/vflab.log)"; fi
((DO_IMPORT)) && workload import import.sh
[[ -n ${STEPS// /} ]] && workload "T1/T3 listing" list.sh
((DO_T2)) && workload T2 t2.sh
((DO_MIGRATE)) && workload M1 migrate.sh
sweep
{
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "elapsed_s=$((EPOCHSECONDS - T_START))"
    echo "failed=${FAILED[*]}"
} >> "$OUT/env.txt"

"$PY" "$BENCH/report.py" "$OUT" $( ((CHART)) || echo --no-chart) | tee "$OUT/table.txt"
ln -sfn "$STAMP" "$BENCH/results/latest"
log "done in $((EPOCHSECONDS - T_START)) s: $OUT"
((${#FAILED[@]} == 0)) || die "failed: ${FAILED[*]}"
