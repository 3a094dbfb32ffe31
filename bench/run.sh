#!/usr/bin/env bash
# bench/run.sh - workload T1: list every instance on 8 lab hosts x 4 domains (2 running),
# VirtFleet against its peers, all measured in the same run. Linux, root, Debian 12.
#
#   bash bench/run.sh [options]          (./build.sh bench [options] builds first, then runs this)
#
#   -n, --runs N        timed runs per peer (default 7; one extra untimed warm-up round first)
#   -w, --warm-calls N  timed calls in the warm vfsh session (default: --runs)
#   --hosts N           lab hosts (default 8)    --domains N  domains per host (default 4)
#   --running N         running domains per host (default 2)
#   --vf auto|get|test  what "vf" runs: Get-VfInstance -All, Test-VfHost (stand-in), or auto
#                       (Get-VfInstance when Get-Command finds it and a probe call lists the domains)
#   --no-ansible        skip the Ansible peers      --no-import  skip the import/startup section
#   --down              tear the lab down at the end even if it was up before
#   --keep-lab          leave the lab up at the end even if this script started it
#   --attempts N        the lab is shared: when someone restarts it mid-run, clean up, wait --retry-wait
#                       seconds (default 90) and run again, up to N times (default 3)
#
# Peers (each a new process per run, runs interleaved round-robin so drift hits all alike):
#   vf cold        out/vfsh/vfsh -Command 'Get-VfInstance -All -Inventory <lab inventory.yml>'
#   ssh xargs -P8  printf addrs | xargs -P8 -I{} ssh -F <lab ssh_config> root@{} virsh -c qemu:///system list --all
#                  (OpenSSH, lab key + known_hosts, StrictHostKeyChecking=yes, BatchMode=yes, no ControlMaster)
#   ansible        ansible -f 8 -m community.libvirt.virt -a command=list_vms, host key checking on, gathering
#                  off, Ansible's default ssh settings, a new empty control_path_dir per run: new connections
#                  (one ControlMaster per host, shared by the module's ssh/sftp steps within the run)
#   ansible reuse  the same with one control_path_dir for all runs: ControlPersist=60s masters from the
#                  previous run are reused (what an admin sees running it twice within a minute)
# and, in ONE vfsh session, "vf warm": one warm-up call then N timed calls ([Diagnostics.Stopwatch]).
# Module import: vfsh -NoModule -Command 'Import-Module <psd1>' minus vfsh -NoModule -Command '1'.
# Peak RSS and CPU from /usr/bin/time -v on every run.
#
# Output: a table of medians and ratios on stdout; CSVs in bench/results/t1-<stamp>/ (runs.csv, warm.csv,
# summary.csv, table.txt, each run's output) and bench/results/latest -> that folder.
# Setup is idempotent: brings the lab to --hosts hosts, defines bench-vfh<i>-<n> domains (64 MiB, type qemu,
# no disk, no NIC: idle in SeaBIOS) with virsh over ssh and starts --running of them. On exit (also on
# error/Ctrl+C) the bench domains are destroyed and undefined, and the lab goes down again if it was down
# before (and still is the lab this script brought up).
set -o errexit -o nounset -o pipefail
export LC_ALL=C.UTF-8   # Ansible refuses non-UTF-8 locales

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
VFSH=$ROOT/out/vfsh/vfsh
PSD1=$ROOT/out/VirtFleet/VirtFleet.psd1
VFLAB=$ROOT/lab/vflab.sh
STATE=${VFLAB_STATE_DIR:-/var/lib/virtfleet-lab}
PY=/usr/bin/python3   # Debian's python: the one with python3-libvirt and ansible

log()  { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die()  { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -o/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

if [[ ${1:-} == __attempt ]]; then
    shift
else
    RUNS=7 WARM_CALLS= HOSTS=8 DOMAINS=4 RUNNING=2 VF_MODE=auto ANSIBLE=1 IMPORT=1 FORCE_DOWN=0 KEEP_LAB=0
    ATTEMPTS=3 RETRY_WAIT=90
    while (($#)); do
        case $1 in
            -n|--runs) RUNS=${2:?}; shift ;;
            -w|--warm-calls) WARM_CALLS=${2:?}; shift ;;
            --hosts) HOSTS=${2:?}; shift ;;
            --domains) DOMAINS=${2:?}; shift ;;
            --running) RUNNING=${2:?}; shift ;;
            --vf) VF_MODE=${2:?}; shift ;;
            --no-ansible) ANSIBLE=0 ;;
            --no-import) IMPORT=0 ;;
            --down) FORCE_DOWN=1 ;;
            --keep-lab) KEEP_LAB=1 ;;
            --attempts) ATTEMPTS=${2:?}; shift ;;
            --retry-wait) RETRY_WAIT=${2:?}; shift ;;
            -h|--help) usage 0 ;;
            *) log "unknown option: $1"; usage 2 ;;
        esac
        shift
    done
    WARM_CALLS=${WARM_CALLS:-$RUNS}
    for v in RUNS WARM_CALLS HOSTS DOMAINS RUNNING ATTEMPTS RETRY_WAIT; do
        [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v,,} must be a number"
    done
    ((RUNS >= 1 && WARM_CALLS >= 1 && HOSTS >= 1 && HOSTS <= 64 && DOMAINS >= 1 && DOMAINS <= 32 && RUNNING <= DOMAINS)) ||
        die "out of range: runs>=1, warm-calls>=1, 1<=hosts<=64, 1<=domains<=32, running<=domains"
    [[ $VF_MODE =~ ^(auto|get|test)$ ]] || die "--vf must be auto, get or test"
    ((FORCE_DOWN && KEEP_LAB)) && die "--down and --keep-lab exclude each other"

    # ---------------------------------------------------------------- preflight
    ((EUID == 0)) || die "must run as root (the lab needs network namespaces)"
    [[ -x $VFLAB || -f $VFLAB ]] || die "missing $VFLAB"
    if [[ ! -x $VFSH || ! -f $PSD1 ]]; then
        log "out/vfsh or out/VirtFleet missing: building (./build.sh build)"
        (cd "$ROOT" && ./build.sh build) >&2 || die "build failed"
    fi
    if [[ ! -x /usr/bin/time ]]; then
        log "installing GNU time"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null || die "apt-get install time failed"
    fi
    for c in ssh xargs flock timeout "$PY"; do command -v "$c" >/dev/null || die "missing command: $c"; done
    if ((ANSIBLE)); then
        command -v ansible >/dev/null || die "ansible missing (apt-get install ansible python3-libvirt python3-lxml), or use --no-ansible"
    fi

    exec 8>/run/lock/virtfleet-bench-t1.lock
    flock -n 8 || die "another bench/run.sh is running (lock /run/lock/virtfleet-bench-t1.lock)"
    export RUNS WARM_CALLS HOSTS DOMAINS RUNNING VF_MODE ANSIBLE IMPORT FORCE_DOWN KEEP_LAB
    # One attempt = setup, measurements, cleanup (a child process with its own EXIT trap). The lab is shared:
    # when someone else restarts it mid-run the attempt exits 3 and, after a pause, the whole run is repeated.
    for ((attempt = 1; ; attempt++)); do
        rc=0
        bash "$0" __attempt 8>&- || rc=$?   # the lock fd must not leak into lab daemons
        ((rc == 3 && attempt < ATTEMPTS)) || exit "$rc"
        log "the lab changed under the run (attempt $attempt of $ATTEMPTS): retrying in $RETRY_WAIT s"
        sleep "$RETRY_WAIT"
    done
fi

# ================================================================ one attempt
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$BENCH/results/t1-$STAMP
mkdir -p "$OUT/out"
RUNS_CSV=$OUT/runs.csv
echo 'workload,round,wall_s,user_s,sys_s,maxrss_kib,seen,rc' > "$RUNS_CSV"

# ---------------------------------------------------------------- lab helpers
lab_status() { bash "$VFLAB" status 2>>"$OUT/vflab.log"; }
# prints "name address pid running" per host of a status JSON (stdin)
status_hosts() {
    "$PY" -c 'import json,sys
for h in json.load(sys.stdin).get("hosts", []):
    print(h["name"], h["address"], h["pid"], "true" if h["running"] else "false")'
}
status_field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# "name:pid ..." of hosts 1..HOSTS that run; empty when the lab is down
lab_identity() {
    lab_status | status_hosts | awk -v n="$HOSTS" '$4 == "true" { i = substr($1, 4) + 0; if (i <= n) printf "%s:%s ", $1, $3 }'
}

WAS_UP=0 LAB_ID= NAMES=() ADDRS=() SSHCFG= ANSIBLE_INV= VF_INV= CP_DIR=
CLEANED=0
# Exit 3 (the outer loop retries) when the lab is not the one set up at the start of this attempt.
lab_changed() { [[ -n $LAB_ID && $(lab_identity) != "$LAB_ID" ]]; }
check_lab() {
    if lab_changed; then
        log "the lab changed during the run (hosts restarted or removed by someone else): $(lab_identity)"
        echo "lab changed: was '$LAB_ID', now '$(lab_identity)'" >> "$OUT/ABORTED"
        exit 3
    fi
}
die() { log "error: $*"; check_lab; echo "$*" >> "$OUT/ABORTED"; exit 1; }

remote_cleanup_script() {
    # Only domains named like ours; everything else on the host is left alone.
    cat <<'EOF'
V="virsh -q -c qemu:///system"
for d in $($V list --all --name); do
  case "$d" in
    bench-vfh*-*) case "${d#bench-vfh}" in *[!0-9-]*) continue ;; esac
      $V destroy "$d" >/dev/null 2>&1; $V undefine "$d" >/dev/null 2>&1 || echo "cannot undefine $d" >&2 ;;
  esac
done
exit 0
EOF
}

close_masters() {   # dir: stop the ssh ControlMaster processes whose sockets are in dir (recursively)
    local s
    while IFS= read -r -d '' s; do
        ssh -o ControlPath="$s" -O exit bench-cp >/dev/null 2>&1 || true
    done < <(find "$1" -type s -print0 2>/dev/null)
}

cleanup() {
    local rc=$?
    ((CLEANED)) && return
    CLEANED=1
    trap - EXIT INT TERM
    set +o errexit
    if ((${#ADDRS[@]})) && [[ -n $SSHCFG ]]; then
        log "removing bench domains"
        local a
        for a in "${ADDRS[@]}"; do
            timeout 60 ssh -F "$SSHCFG" "root@$a" sh -s < <(remote_cleanup_script) 2>>"$OUT/cleanup.log" &
        done
        wait
    fi
    if [[ -n $CP_DIR && -d $CP_DIR ]]; then   # Ansible's ControlPersist masters from this run
        close_masters "$CP_DIR"
        rm -rf "$CP_DIR"
    fi
    if ((KEEP_LAB)); then
        log "leaving the lab up (--keep-lab)"
    elif ((FORCE_DOWN)) || { ((!WAS_UP)) && [[ -n $LAB_ID ]]; }; then
        if ((FORCE_DOWN)) || ! lab_changed; then
            if ((FORCE_DOWN)); then log "taking the lab down (--down)"; else log "taking the lab down (it was down before)"; fi
            bash "$VFLAB" down 2>>"$OUT/vflab.log" || log "warning: vflab.sh down failed (see $OUT/vflab.log)"
        else
            log "the lab changed during the run (someone else restarted it): leaving it as it is"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- setup: lab
status_json=$(lab_status) || die "vflab.sh status failed (see $OUT/vflab.log)"
running_before=$(status_hosts <<<"$status_json" | awk '$4 == "true"' | wc -l)
((running_before > 0)) && WAS_UP=1
log "lab before: $running_before running host(s); bringing it to $HOSTS"

up_ok=0
for attempt in 1 2; do
    if status_json=$(bash "$VFLAB" up "$HOSTS" 2>>"$OUT/vflab.log"); then
        n_ok=$(status_hosts <<<"$status_json" | awk -v n="$HOSTS" '$4 == "true" && substr($1, 4) + 0 <= n' | wc -l)
        ((n_ok == HOSTS)) && { up_ok=1; break; }
        log "vflab.sh up $HOSTS: only $n_ok of $HOSTS hosts running"
    else
        log "vflab.sh up $HOSTS failed (attempt $attempt): $(tail -n 3 "$OUT/vflab.log" | tr '\n' ' ')"
    fi
    ((attempt < 2)) && { log "retrying in 20 s"; sleep 20; }
done
if ((!up_ok)); then
    echo "vflab.sh up $HOSTS failed" >> "$OUT/ABORTED"
    log "the lab did not come up with $HOSTS hosts (log: $OUT/vflab.log)"
    exit 3
fi
LAB_ID=$(lab_identity)

SSHCFG=$(status_field sshConfig <<<"$status_json")
ANSIBLE_INV=$(status_field inventory <<<"$status_json")
KNOWN_HOSTS=$(status_field knownHosts <<<"$status_json")
KEY=$(status_field keyFile <<<"$status_json")
while read -r name addr _ _; do
    i=${name#vfh}
    ((i <= HOSTS)) || continue
    NAMES+=("$name") ADDRS+=("$addr")
done < <(status_hosts <<<"$status_json")
((${#ADDRS[@]} == HOSTS)) || die "expected $HOSTS hosts in the status, got ${#ADDRS[@]}"

# The VirtFleet inventory of the lab (Start-VfLab writes it); hosts above --hosts are left out by a
# bench-private copy so every peer sees the same hosts.
VF_INV=$STATE/inventory.yml
inventory_complete() {
    [[ -f $1 ]] || return 1
    local a
    for a in "${ADDRS[@]}"; do grep -q "address: $a\$" "$1" || return 1; done
    grep -q "^knownHosts: " "$1"
}
if ! inventory_complete "$VF_INV"; then
    if cmp -s "$VFLAB" "$ROOT/out/VirtFleet/lab/vflab.sh"; then
        log "registering the lab inventory (Start-VfLab -HostCount $HOSTS)"
        "$VFSH" -Command "Start-VfLab -HostCount $HOSTS | Out-Null" >>"$OUT/vflab.log" 2>&1 || log "warning: Start-VfLab failed"
    else
        log "warning: out/VirtFleet/lab/vflab.sh differs from lab/vflab.sh (stale build): not running Start-VfLab"
    fi
fi
total_hosts=$(status_hosts <<<"$status_json" | wc -l)
if ! inventory_complete "$VF_INV" || ((total_hosts != HOSTS)); then
    VF_INV=$OUT/inventory.yml
    log "using a bench-written VirtFleet inventory of hosts 1..$HOSTS: $VF_INV"
    {
        printf '# VirtFleet host inventory (bench/run.sh: lab hosts 1..%d)\nknownHosts: %s\nhosts:\n' "$HOSTS" "$KNOWN_HOSTS"
        for i in "${!ADDRS[@]}"; do
            printf -- '- name: %s\n  address: %s\n  port: 22\n  user: root\n  keyFile: %s\n  tags:\n  - lab\n' \
                "${NAMES[$i]}" "${ADDRS[$i]}" "$KEY"
        done
    } > "$VF_INV"
fi
if ((total_hosts != HOSTS)); then   # same host set for Ansible
    { printf '[vflab]\n'; for i in "${!ADDRS[@]}"; do printf '%s ansible_host=%s\n' "${NAMES[$i]}" "${ADDRS[$i]}"; done
      sed -n '/^\[vflab:vars\]/,$p' "$ANSIBLE_INV"; } > "$OUT/inventory.ini"
    ANSIBLE_INV=$OUT/inventory.ini
fi

# ---------------------------------------------------------------- setup: domains
remote_setup_script() {   # $1 host name: defines bench-<host>-1..DOMAINS, starts 1..RUNNING, stops the rest
    cat <<EOF
h=$1 n=$DOMAINS r=$RUNNING
EOF
    cat <<'EOF'
V="virsh -q -c qemu:///system"
set -e
# bench domains from an earlier run with more domains per host
for d in $($V list --all --name); do
  case "$d" in "bench-$h-"*)
    k=${d#bench-$h-}
    case "$k" in ''|*[!0-9]*) continue ;; esac
    if [ "$k" -gt "$n" ]; then $V destroy "$d" >/dev/null 2>&1 || true; $V undefine "$d" >/dev/null; fi ;;
  esac
done
i=1
while [ "$i" -le "$n" ]; do
  d=bench-$h-$i
  if ! $V dominfo "$d" >/dev/null 2>&1; then
    $V define /dev/stdin >/dev/null <<XML
<domain type='qemu'>
  <name>$d</name>
  <description>VirtFleet bench/run.sh workload T1 (removed at the end of the run)</description>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><bios rebootTimeout='-1'/></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices>
</domain>
XML
  fi
  st=$($V domstate "$d")
  if [ "$i" -le "$r" ]; then
    [ "$st" = running ] || $V start "$d" >/dev/null
  else
    [ "$st" = "shut off" ] || $V destroy "$d" >/dev/null
  fi
  i=$((i + 1))
done
echo "$h: $($V list --all --name | grep -c '^bench-') bench domains, $($V list --name | grep -c '^bench-') running, $($V list --all --name | grep -c .) in all"
EOF
}
log "defining $DOMAINS domains per host ($RUNNING running) on ${#ADDRS[@]} hosts"
pids=()
for i in "${!ADDRS[@]}"; do
    ssh -F "$SSHCFG" "root@${ADDRS[$i]}" sh -s < <(remote_setup_script "${NAMES[$i]}") > "$OUT/setup.${NAMES[$i]}.log" 2>&1 &
    pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { failed=1; log "setup failed on ${NAMES[$i]}: $(tail -n 3 "$OUT/setup.${NAMES[$i]}.log" | tr '\n' ' ')"; }
done
((failed)) && die "domain setup failed"
cat "$OUT"/setup.*.log > "$OUT/setup.txt"
check_lab
EXPECT=$((HOSTS * DOMAINS))
ALL_DOMAINS=$(awk '{ s += $(NF - 2) } END { print s + 0 }' "$OUT/setup.txt")
log "domains: $EXPECT bench + $((ALL_DOMAINS - EXPECT)) other(s) on the hosts"

# python3-libvirt where Ansible's module runs: on the lab hosts (same /usr as this machine)
if ((ANSIBLE)); then
    ssh -F "$SSHCFG" "root@${ADDRS[0]}" /usr/bin/python3 -c "'import libvirt, lxml'" 2>>"$OUT/setup.txt" ||
        die "python3-libvirt/python3-lxml not importable on ${NAMES[0]} (apt-get install python3-libvirt python3-lxml)"
    ansible-galaxy collection list community.libvirt > "$OUT/ansible-collections.txt" 2>&1 || true
    collection=$(awk '/^# /{p=$2} /^community\.libvirt /{print p " (" $2 ")"; exit}' "$OUT/ansible-collections.txt")
    [[ -n $collection ]] || die "community.libvirt not found by ansible-galaxy (Debian's ansible package ships it)"
    log "community.libvirt from $collection"
fi

# ---------------------------------------------------------------- which VirtFleet command
for attempt in 1 2 3; do   # out/ may be mid-rebuild by someone else
    vf_err=$("$VFSH" -Command 1 2>&1 >/dev/null) && break
    log "vfsh cannot start with the module (attempt $attempt): $(head -n 1 <<<"$vf_err" | cut -c1-200)"
    ((attempt < 3)) || die "out/vfsh/vfsh does not start with the VirtFleet module (rebuild with ./build.sh build?)"
    sleep 20
done
VF_CMD=Test-VfHost
if [[ $VF_MODE != test ]]; then
    has=$("$VFSH" -Command 'if (Get-Command Get-VfInstance -ErrorAction SilentlyContinue) { "yes" } else { "no" }' 2>/dev/null || echo no)
    if [[ $has == yes ]]; then
        probe=$("$VFSH" -Command "@(Get-VfInstance -All -Inventory '$VF_INV' -ErrorAction Stop | Where-Object { \$_.Name -like 'bench-vfh*' }).Count" 2>&1) || true
        if [[ $probe =~ ^[[:space:]]*([0-9]+)[[:space:]]*$ ]] && ((BASH_REMATCH[1] == EXPECT)); then
            VF_CMD=Get-VfInstance
        elif [[ $VF_MODE == get ]]; then
            die "Get-VfInstance probe failed: $(tr '\n' ' ' <<<"$probe")"
        else
            log "warning: Get-VfInstance exists but its probe did not list the $EXPECT bench domains: $(tr '\n' ' ' <<<"$probe" | cut -c1-300)"
            VF_STANDIN_WHY="Get-VfInstance probe failed: $(tr '\n' ' ' <<<"$probe" | cut -c1-200)"
        fi
    else
        [[ $VF_MODE == get ]] && die "Get-VfInstance is not in the module yet"
        VF_STANDIN_WHY="Get-VfInstance not in the module yet"
    fi
else
    VF_STANDIN_WHY="--vf test"
fi
if [[ $VF_CMD == Get-VfInstance ]]; then
    VF_EXPR="Get-VfInstance -All -Inventory '$VF_INV'"
else
    VF_EXPR="Test-VfHost -Inventory '$VF_INV'"
    log "VirtFleet rows use the stand-in Test-VfHost (${VF_STANDIN_WHY:-})"
fi
log "vf: $VF_EXPR"

# ---------------------------------------------------------------- peers
if ((ANSIBLE)); then
    CP_DIR=$(mktemp -d /tmp/vfbench-cp.XXXXXX)
    cat > "$OUT/ansible.cfg" <<EOF
# written by bench/run.sh
[defaults]
host_key_checking = True
gathering = explicit
forks = 8
retry_files_enabled = False
interpreter_python = /usr/bin/python3
[ssh_connection]
control_path_dir = $CP_DIR
EOF
fi

run_peer() {   # workload round -> one timed run, appended to runs.csv
    local w=$1 r=$2 out=$OUT/out/$1.$2.txt tv=$OUT/out/$1.$2.time rc=0 t0 t1
    local -a cmd
    case $w in
        vf_cold) cmd=("$VFSH" -Command "$VF_EXPR") ;;
        ssh_xargs) cmd=(bash -c 'printf "%s\n" "${@:2}" | xargs -P8 -I{} ssh -F "$1" root@{} virsh -c qemu:///system list --all' \
                        _ "$SSHCFG" "${ADDRS[@]}") ;;
        ansible|ansible_reuse) cmd=(ansible vflab -i "$ANSIBLE_INV" -f 8 -o -m community.libvirt.virt -a command=list_vms) ;;
        engine) cmd=("$VFSH" -NoModule -Command 1) ;;
        import) cmd=("$VFSH" -NoModule -Command "Import-Module '$PSD1'") ;;
        startup) cmd=("$VFSH" -Command 1) ;;
        *) die "unknown workload $w" ;;
    esac
    local -a envs=(env)
    local cp_run=
    case $w in
        ansible) cp_run=$(mktemp -d "$CP_DIR/run.XXXXXX")
                 envs+=(ANSIBLE_CONFIG="$OUT/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$cp_run") ;;
        ansible_reuse) envs+=(ANSIBLE_CONFIG="$OUT/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$CP_DIR/reuse") ;;
    esac
    t0=$EPOCHREALTIME
    "${envs[@]}" /usr/bin/time -v -o "$tv" "${cmd[@]}" >"$out" 2>&1 </dev/null || rc=$?
    t1=$EPOCHREALTIME
    [[ -n $cp_run ]] && { close_masters "$cp_run"; rm -rf "$cp_run"; }
    local wall user sys rss seen
    wall=$(( (${t1/./} - ${t0/./}) ))
    wall=$(printf '%d.%06d' $((wall / 1000000)) $((wall % 1000000)))
    user=$(awk -F': ' '/User time/ {print $2}' "$tv")
    sys=$(awk -F': ' '/System time/ {print $2}' "$tv")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
    if [[ $w == vf_cold && $VF_CMD == Test-VfHost ]]; then
        seen=$(awk '$1 ~ /^vfh[0-9]+$/ { s += $9 } END { print s + 0 }' "$out")   # Instances column
    else
        seen=$(grep -oE 'bench-vfh[0-9]+-[0-9]+' "$out" | sort -u | wc -l)
    fi
    echo "$w,$r,$wall,${user:-},${sys:-},${rss:-},$seen,$rc" >> "$RUNS_CSV"
    ((rc == 0)) || log "$w round $r failed (exit $rc): $(tail -n 2 "$out" | tr '\n' ' ' | cut -c1-200)"
    printf '%s' "$wall"
}

rounds() {   # label first_round last_round workloads...
    local label=$1 first=$2 last=$3; shift 3
    local -a ws=("$@")
    local r k n=${#ws[@]} line
    for ((r = first; r <= last; r++)); do
        line=
        for ((k = 0; k < n; k++)); do
            local w=${ws[$(((k + r) % n))]}   # rotate the order each round
            line+=" $w=$(run_peer "$w" "$r")s"
        done
        log "$label round $r:$line"
        check_lab
    done
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$EPOCHSECONDS
PEERS=(vf_cold ssh_xargs)
((ANSIBLE)) && PEERS+=(ansible ansible_reuse)
log "T1: $RUNS timed rounds of: ${PEERS[*]} (round 0 = untimed warm-up)"
rounds T1 0 "$RUNS" "${PEERS[@]}"

log "vf warm: one vfsh session, 1 warm-up + $WARM_CALLS timed calls of $VF_CMD"
/usr/bin/time -v -o "$OUT/out/vf_warm.time" "$VFSH" -File "$BENCH/warm.ps1" "$VF_INV" "$VF_CMD" "$WARM_CALLS" \
    > "$OUT/out/vf_warm.txt" 2>&1 </dev/null || die "warm session failed: $(tail -n 5 "$OUT/out/vf_warm.txt")"
grep -E '^(call,|[0-9]+,)' "$OUT/out/vf_warm.txt" > "$OUT/warm.csv" || die "warm session printed no timings: $(head -c 500 "$OUT/out/vf_warm.txt")"
check_lab
log "vf warm per call (s): $(awk -F, 'NR > 1 { printf "%s%s", (NR > 2 ? " " : "first="), $2 }' "$OUT/warm.csv")"

if ((IMPORT)); then
    log "module import: $RUNS rounds of vfsh -NoModule '1' / -NoModule 'Import-Module' / default startup"
    rounds import 0 "$RUNS" engine import startup
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

check_lab

# ---------------------------------------------------------------- summary
{
    echo "stamp=$STAMP"
    echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')"
    echo "cpus=$(nproc)"
    echo "mem_total_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "load_start=$LOAD_START"
    echo "load_end=$LOAD_END"
    echo "hosts=$HOSTS"
    echo "domains_per_host=$DOMAINS"
    echo "running_per_host=$RUNNING"
    echo "bench_domains=$EXPECT"
    echo "all_domains=$ALL_DOMAINS"
    echo "runs=$RUNS"
    echo "warm_calls=$WARM_CALLS"
    echo "vf_command=$VF_CMD"
    echo "vf_standin_reason=${VF_STANDIN_WHY:-}"
    echo "vf_inventory=$VF_INV"
    echo "ansible_inventory=$ANSIBLE_INV"
    echo "ansible=$(ansible --version 2>/dev/null | head -n1) community.libvirt=${collection:-}"
    echo "ssh=$(ssh -V 2>&1)"
    echo "elapsed_s=$((EPOCHSECONDS - T_START))"
} > "$OUT/env.txt"

"$PY" - "$OUT" <<'PY' | tee "$OUT/table.txt"
import csv, os, statistics, sys
out = sys.argv[1]
env = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "env.txt")) if "=" in l)
runs = list(csv.DictReader(open(os.path.join(out, "runs.csv"))))
warm = list(csv.DictReader(open(os.path.join(out, "warm.csv"))))
expect = int(env["bench_domains"])
stand_in = env["vf_command"] != "Get-VfInstance"

def f(x):
    try: return float(x)
    except (TypeError, ValueError): return None

def stats(w):
    rows = [r for r in runs if r["workload"] == w and r["round"] != "0"]
    ok = [r for r in rows if r["rc"] == "0"]
    if not ok: return None
    wall = [float(r["wall_s"]) for r in ok]
    cpu = [f(r["user_s"]) + f(r["sys_s"]) for r in ok if f(r["user_s"]) is not None]
    rss = [f(r["maxrss_kib"]) for r in ok if f(r["maxrss_kib"]) is not None]
    seen = sorted({int(r["seen"]) for r in ok})
    return dict(median=statistics.median(wall), min=min(wall), max=max(wall), n=len(ok), total=len(rows),
                cpu=statistics.median(cpu) if cpu else None, rss=statistics.median(rss) / 1024 if rss else None,
                seen="/".join(map(str, seen)))

vf_label = "vf cold" + (" [stand-in Test-VfHost]" if stand_in else "")
table = [(vf_label, "vf_cold"), ("ssh xargs -P8", "ssh_xargs"),
         ("ansible list_vms", "ansible"), ("ansible list_vms, ssh reused", "ansible_reuse")]
S = {w: stats(w) for _, w in table}
wt = [float(r["seconds"]) for r in warm if r["call"] != "0"]
w0 = [r for r in warm if r["call"] == "0"]
if wt:
    S["vf_warm"] = dict(median=statistics.median(wt), min=min(wt), max=max(wt), n=len(wt), total=len(wt),
                        cpu=None, rss=None, seen="/".join(sorted({r["seen"] for r in warm if r["call"] != "0"})))
    table.insert(1, ("vf warm (per call)", "vf_warm"))
if w0:
    S["vf_warm0"] = dict(median=float(w0[0]["seconds"]), min=None, max=None, n=1, total=1, cpu=None, rss=None, seen=w0[0]["seen"])
    table.insert(2, ("vf warm, 1st call in session", "vf_warm0"))

def ratio(s, ref):
    r = S.get(ref)
    return f"{s['median'] / r['median']:.2f}" if s and r else "-"

hdr = f"{'workload':<34}{'median_s':>9}{'ratio_vs_ssh':>14}{'ratio_vs_ansible':>18}{'min_s':>8}{'max_s':>8}{'cpu_s':>7}{'rss_MiB':>9}{'ok':>6}  seen"
lines = [f"T1: list all instances, {env['hosts']} hosts x {env['domains_per_host']} domains "
         f"({env['running_per_host']} running); medians of {env['runs']} runs ({env['warm_calls']} warm calls)",
         f"    machine: {env['cpus']} CPUs, load {env['load_start']} -> {env['load_end']}; git {env['git']}; "
         f"domains on the hosts: {env['all_domains']} ({expect} bench)", hdr]
summary = [["workload", "median_s", "ratio_vs_ssh", "ratio_vs_ansible", "min_s", "max_s", "cpu_s", "peak_rss_mib", "ok", "runs", "seen"]]
fmt = lambda v, p=3: "-" if v is None else f"{v:.{p}f}"
for label, w in table:
    s = S.get(w)
    if s is None:
        lines.append(f"{label:<34}{'FAILED':>9}")
        summary.append([label, "", "", "", "", "", "", "", 0, "", ""])
        continue
    rs, ra = ratio(s, "ssh_xargs"), ratio(s, "ansible")
    lines.append(f"{label:<34}{s['median']:>9.3f}{rs:>14}{ra:>18}{fmt(s['min']):>8}{fmt(s['max']):>8}"
                 f"{fmt(s['cpu'], 2):>7}{fmt(s['rss'], 0):>9}{str(s['n']) + '/' + str(s['total']):>6}  {s['seen']}")
    summary.append([label, f"{s['median']:.6f}", rs, ra, fmt(s["min"], 6), fmt(s["max"], 6), fmt(s["cpu"], 3),
                    fmt(s["rss"], 1), s["n"], s["total"], s["seen"]])
notes = ["    seen = distinct bench domains in the output" +
         (" (stand-in: sum of Test-VfHost's Instances column)" if stand_in else "") + f"; expected {expect}.",
         "    ansible list_vms: Ansible's ssh defaults, new connections each run (fresh control_path_dir); 'ssh reused':",
         "    ControlPersist masters of the previous run reused. cpu_s = user+sys of the process tree (GNU time);",
         "    rss = peak RSS of the largest process. vf warm rows: [Diagnostics.Stopwatch] inside one vfsh session."]
if env.get("vf_standin_reason"):
    notes.append(f"    vf rows ran the stand-in Test-VfHost: {env['vf_standin_reason']}")
if warm:
    notes.append("    vf warm per call (s): " + " ".join(("first " if r["call"] == "0" else "") + f"{float(r['seconds']):.3f}" for r in warm))
lines += notes

imp = {w: stats(w) for w in ("engine", "import", "startup")}
if all(imp.values()):
    d = imp["import"]["median"] - imp["engine"]["median"]
    d2 = imp["startup"]["median"] - imp["engine"]["median"]
    lines += ["", f"{'vfsh startup':<34}{'median_s':>9}{'rss_MiB':>9}",
              f"{'-NoModule -Command 1':<34}{imp['engine']['median']:>9.3f}{fmt(imp['engine']['rss'], 0):>9}",
              f"{'-NoModule Import-Module psd1':<34}{imp['import']['median']:>9.3f}{fmt(imp['import']['rss'], 0):>9}",
              f"{'-Command 1 (module via vfsh)':<34}{imp['startup']['median']:>9.3f}{fmt(imp['startup']['rss'], 0):>9}",
              f"module import time (median difference): {d:.3f} s (explicit Import-Module), {d2:.3f} s (vfsh's own import)"]
    summary += [["vfsh -NoModule 1", f"{imp['engine']['median']:.6f}"] + [""] * 5 + [fmt(imp['engine']['rss'], 1), imp['engine']['n'], imp['engine']['total'], ""],
                ["vfsh Import-Module", f"{imp['import']['median']:.6f}"] + [""] * 5 + [fmt(imp['import']['rss'], 1), imp['import']['n'], imp['import']['total'], ""],
                ["module import (difference)", f"{d:.6f}"] + [""] * 9]

def peak(path):
    try:
        for l in open(path):
            if "Maximum resident set size" in l: return int(l.split(":")[1]) / 1024
    except OSError: pass
vc = S.get("vf_cold")
wp = peak(os.path.join(out, "out", "vf_warm.time"))
lines.append("")
lines.append(f"VirtFleet peak RSS (/usr/bin/time -v): cold run median {fmt(vc and vc['rss'], 0)} MiB, "
             f"warm session ({int(env['warm_calls']) + 1} calls) {fmt(wp, 0)} MiB")
bad = [label for label, w in table if S.get(w) and S[w]["seen"] != str(expect) and not (stand_in and w.startswith("vf"))]
if bad:
    lines.append(f"WARNING: did not see all {expect} bench domains: {', '.join(bad)}")
lines.append(f"results: {out}")
print("\n".join(lines))
csv.writer(open(os.path.join(out, "summary.csv"), "w", newline="")).writerows(summary)
PY
ln -sfn "$(basename "$OUT")" "$BENCH/results/latest"
