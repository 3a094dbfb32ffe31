#!/usr/bin/env bash
# bench/list.sh - workloads T1 and T3: list every instance on N lab hosts x DOMAINS domains (RUNNING running),
# VirtFleet against its peers in the same run. Started by bench/run.sh (one attempt; exit 3 = the lab changed
# under the run, run.sh retries and steps already complete are kept).
#
# Environment (set by run.sh): OUT (the run's folder), STEPS ("8 16 32 64": host counts, ascending),
# T1_STEP (the host count that is workload T1: it also runs the Ansible peers; 0 = none), RUNS (T1's rounds),
# T3_RUNS (the other steps' rounds), WARM_CALLS, DOMAINS, RUNNING, VF_MODE (auto|get|test), ANSIBLE (0|1),
# VFSH and PSD1 (the build to measure).
#
# Per step N, folder $OUT/list-N: runs.csv (every timed run), warm.csv (the warm session's calls), env.txt,
# out/ (each run's output and GNU time report), DONE when complete.
#   vf_cold        out/vfsh/vfsh -Command 'Get-VfInstance -All -Inventory <bench inventory of hosts 1..N>' (VF_KEEPER=0: new connections)
#   vf_keeper      (T1 step) the same new vfsh process with the connection keeper on (VF_KEEPER=1, its own XDG_RUNTIME_DIR):
#                  the keeper, started by round 0, holds the connections; each run is still a new process
#   pwsh_cold      (T1 step) a new pwsh: pwsh -NoProfile -Command 'Import-Module <psd1>; Get-VfInstance ...', VF_KEEPER=0
#   pwsh_keeper    (T1 step) the same with the keeper on (the same keeper as vf_keeper)
#   ssh_xargs      printf addrs | xargs -P<N> -I{} ssh -F <lab ssh_config> root@{} virsh -c qemu:///system list --all
#   ansible        (T1 step) ansible -f 8 -m community.libvirt.virt -a command=list_vms, new connections each run
#   ansible_reuse  (T1 step) the same, reusing the ControlPersist masters of the previous run
#   vf warm        one vfsh session (bench/warm.ps1): 1 warm-up call + WARM_CALLS timed calls
# Setup: bench-vfh<i>-<n> domains (64 MiB, type qemu, no disk, no NIC: idle in SeaBIOS), RUNNING of them started;
# removed again on exit (also on errors and Ctrl+C). Domains with other names are never touched.
set -o errexit -o nounset -o pipefail
export LC_ALL=C.UTF-8   # Ansible refuses non-UTF-8 locales

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${OUT:?}" "${STEPS:?}" "${T1_STEP:=0}" "${RUNS:=5}" "${T3_RUNS:=$RUNS}" "${WARM_CALLS:=$RUNS}" "${DOMAINS:=4}" "${RUNNING:=2}"
: "${VF_MODE:=auto}" "${ANSIBLE:=1}" "${LIBVIRT_PATHS:=0}"
read -ra STEP_LIST <<<"$STEPS"
# Every VirtFleet run without "keeper" in its name connects itself (lib.sh: VF_KEEPER=0); the keeper rows get a keeper of their own.
PWSH_BIN=${VF_TOOLS:-$ROOT/out/tools}/pwsh
MAXN=${STEP_LIST[-1]}

LAB_ID= SET_UP=0 CP_DIR= CLEANED=0
lab_changed() { [[ -n $LAB_ID && $(lab_identity 1 "$SET_UP") != "$LAB_ID" ]]; }
check_lab() {
    if lab_changed; then
        log "the lab changed during the run (hosts restarted or removed by someone else): $(lab_identity 1 "$SET_UP")"
        echo "lab changed: was '$LAB_ID', now '$(lab_identity 1 "$SET_UP")'" >> "$OUT/ABORTED.list"
        exit 3
    fi
}
die() { log "error: $*"; check_lab; echo "$*" >> "$OUT/ABORTED.list"; exit 1; }

cleanup_script() {   # only domains named bench-vfh<i>-<n>; everything else on the host is left alone
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
cleanup() {
    ((CLEANED)) && return
    CLEANED=1
    trap - EXIT INT TERM
    set +o errexit
    stop_renicer
    if ((SET_UP > 0)); then
        log "removing the T1/T3 bench domains from hosts 1..$SET_UP"
        cleanup_script > "$OUT/list-cleanup.sh"
        lab_hosts 1 "$SET_UP" 2>/dev/null && on_hosts "$OUT/list-cleanup.sh" "$OUT/list-cleanup" ||
            log "warning: cleanup incomplete (see $OUT/list-cleanup.*.log)"
    fi
    if [[ -n $CP_DIR && -d $CP_DIR ]]; then close_masters "$CP_DIR"; rm -rf "$CP_DIR"; fi
    stop_keeper
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setup_script() {   # defines bench-<host>-1..DOMAINS, starts 1..RUNNING, stops the rest (idempotent)
    cat <<EOF
n=$DOMAINS r=$RUNNING
EOF
    cat <<'EOF'
h=$(hostname)
V="virsh -q -c qemu:///system"
set -e
for d in $($V list --all --name); do   # from an earlier run with more domains per host
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
  <description>VirtFleet bench/run.sh workload T1/T3 (removed at the end of the run)</description>
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
    [ "$st" = running ] || $V start "$d" >/dev/null 2>&1 || [ "$($V domstate "$d")" = running ]
  else
    [ "$st" = "shut off" ] || $V destroy "$d" >/dev/null
  fi
  i=$((i + 1))
done
echo "$h: $($V list --all --name | grep -c '^bench-vfh') bench domains, $($V list --name | grep -c '^bench-vfh') running, $($V list --all --name | grep -c .) in all"
EOF
}

VF_CMD= VF_STANDIN_WHY=

probe_vf() {   # chooses VF_CMD (Get-VfInstance, or the stand-in Test-VfHost) with the inventory $1, expecting $2 domains
    local inv=$1 expect=$2 attempt vf_err has probe
    for attempt in 1 2 3; do   # out/ may be mid-rebuild by someone else
        vf_err=$("$VFSH" -Command 1 2>&1 >/dev/null) && break
        log "vfsh cannot start with the module (attempt $attempt): $(head -n 1 <<<"$vf_err" | cut -c1-200)"
        ((attempt < 3)) || die "out/vfsh/vfsh does not start with the VirtFleet module (rebuild with ./build.sh build?)"
        sleep 20
    done
    VF_CMD=Test-VfHost
    if [[ $VF_MODE == test ]]; then VF_STANDIN_WHY="--vf test"; return; fi
    has=$("$VFSH" -Command 'if (Get-Command Get-VfInstance -ErrorAction SilentlyContinue) { "yes" } else { "no" }' 2>/dev/null || echo no)
    if [[ $has != yes ]]; then
        [[ $VF_MODE == get ]] && die "Get-VfInstance is not in the module yet"
        VF_STANDIN_WHY="Get-VfInstance not in the module yet"; return
    fi
    for attempt in 1 2 3; do   # a host of a just-grown lab may still be starting: ask again before the stand-in
        probe=$("$VFSH" -Command "@(Get-VfInstance -All -Inventory '$inv' -ErrorAction Stop | Where-Object { \$_.Name -like 'bench-vfh*' }).Count" 2>&1) || true
        [[ $probe =~ ^[[:space:]]*([0-9]+)[[:space:]]*$ ]] && ((BASH_REMATCH[1] == expect)) && break
        ((attempt < 3)) || break
        log "Get-VfInstance probe did not list the $expect bench domains yet (attempt $attempt): $(tr '\n' ' ' <<<"$probe" | cut -c1-200); again in 30 s"
        sleep 30
    done
    if [[ $probe =~ ^[[:space:]]*([0-9]+)[[:space:]]*$ ]] && ((BASH_REMATCH[1] == expect)); then
        VF_CMD=Get-VfInstance
    elif [[ $VF_MODE == get ]]; then
        die "Get-VfInstance probe failed: $(tr '\n' ' ' <<<"$probe")"
    else
        log "warning: Get-VfInstance exists but its probe did not list the $expect bench domains: $(tr '\n' ' ' <<<"$probe" | cut -c1-300)"
        VF_STANDIN_WHY="Get-VfInstance probe failed: $(tr '\n' ' ' <<<"$probe" | cut -c1-200)"
    fi
}

run_step() {   # N
    local n=$1
    local dir=$OUT/list-$n
    if [[ -f $dir/DONE ]]; then log "list $n hosts: complete from an earlier attempt, kept"; return; fi
    rm -rf "$dir"; mkdir -p "$dir/out"
    local is_t1=0 peers=(vf_cold ssh_xargs) par=$n runs=$T3_RUNS
    ((n == T1_STEP)) && is_t1=1 runs=$RUNS
    if ((is_t1)); then
        peers+=(vf_keeper)
        [[ -x $PWSH_BIN ]] && peers+=(pwsh_cold pwsh_keeper)
        start_keeper
    fi
    ((is_t1 && ANSIBLE)) && peers+=(ansible ansible_reuse)
    local label="T3 $n hosts"
    ((is_t1)) && label="T1 $n hosts"

    ensure_lab "$n" || die "vflab.sh up $n failed (see $OUT/vflab.log)"
    lab_hosts 1 "$n" || die "lab status does not list hosts 1..$n"
    local vf_inv=$dir/inventory.yml ans_inv=$dir/inventory.ini
    write_vf_inventory "$vf_inv"
    write_ansible_inventory "$ans_inv" vflab

    log "$label: defining $DOMAINS domains per host ($RUNNING running) on hosts 1..$n"
    setup_script > "$dir/setup.sh"
    ((n > SET_UP)) && SET_UP=$n   # from here on, cleanup covers these hosts
    local t0=$EPOCHSECONDS
    if ! on_hosts "$dir/setup.sh" "$dir/setup"; then
        # hosts that drop connections or lose daemons during setup: someone is restarting the lab (or it is
        # starved); discard the attempt so that run.sh retries it later
        log "$label: domain setup failed on some hosts"
        echo "domain setup failed on hosts 1..$n" >> "$OUT/ABORTED.list"
        exit 3
    fi
    cat "$dir"/setup.vfh*.log | sort -V > "$dir/setup.txt"
    local expect=$((n * DOMAINS)) all
    all=$(awk '{ s += $(NF - 2) } END { print s + 0 }' "$dir/setup.txt")
    log "$label: $expect bench + $((all - expect)) other domain(s) on the hosts (setup $((EPOCHSECONDS - t0)) s)"
    LAB_ID=$(lab_identity 1 "$SET_UP")

    [[ -n $VF_CMD ]] || probe_vf "$vf_inv" "$expect"
    local vf_expr
    if [[ $VF_CMD == Get-VfInstance ]]; then vf_expr="Get-VfInstance -All -Inventory '$vf_inv'"
    else vf_expr="Test-VfHost -Inventory '$vf_inv'"; log "VirtFleet rows use the stand-in Test-VfHost ($VF_STANDIN_WHY)"; fi

    local collection=
    if ((is_t1 && ANSIBLE)); then
        ssh -F "$SSHCFG" "root@${ADDRS[0]}" /usr/bin/python3 -c "'import libvirt, lxml'" 2>>"$dir/setup.txt" ||
            die "python3-libvirt/python3-lxml not importable on ${NAMES[0]} (apt-get install python3-libvirt python3-lxml)"
        ansible-galaxy collection list community.libvirt > "$dir/ansible-collections.txt" 2>&1 || true
        collection=$(awk '/^# /{p=$2} /^community\.libvirt /{print p " (" $2 ")"; exit}' "$dir/ansible-collections.txt")
        [[ -n $collection ]] || die "community.libvirt not found by ansible-galaxy (Debian's ansible package ships it)"
        CP_DIR=${CP_DIR:-$(mktemp -d /tmp/vfbench-cp.XXXXXX)}
        write_ansible_cfg "$dir/ansible.cfg" "$CP_DIR" 8
    fi

    write_env() {   # env.txt of the step (written at the start, completed at the end)
        {
            echo "workload=$([[ $is_t1 == 1 ]] && echo T1 || echo T3)"
            echo "hosts=$n"
            echo "xargs_parallel=$par"
            echo "domains_per_host=$DOMAINS"
            echo "running_per_host=$RUNNING"
            echo "bench_domains=$expect"
            echo "all_domains=$all"
            echo "runs=$runs"
            echo "warm_calls=$WARM_CALLS"
            echo "vf_command=$VF_CMD"
            echo "vf_standin_reason=$VF_STANDIN_WHY"
            echo "vf_expr=$vf_expr"
            echo "vf_env=${VF_ENV_DESC:-}"
            echo "ansible=$([[ -n $collection ]] && echo "$(ansible --version 2>/dev/null | head -n1) community.libvirt=$collection")"
            echo "load_start=$load_start"
            echo "load_end=${load_end:-}"
            echo "elapsed_s=${elapsed:-}"
            env_common
        } > "$dir/env.txt"
    }
    local load_start load_end= elapsed= t_start=$EPOCHSECONDS
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    write_env
    local csv=$dir/runs.csv
    echo "$RUNS_HEADER" > "$csv"
    local r k w line seen cp_run out
    log "$label: $runs timed rounds of ${peers[*]} (round 0 = untimed warm-up); vf: $vf_expr"
    for ((r = 0; r <= runs; r++)); do
        line=
        for ((k = 0; k < ${#peers[@]}; k++)); do
            w=${peers[$(((k + r) % ${#peers[@]}))]}   # rotate the order each round
            out=$dir/out/$w.$r.txt cp_run=
            case $w in
                vf_cold)   timed "$out" "$VFSH" -Command "$vf_expr" ;;
                vf_keeper) timed "$out" "${KEEPER_ENV[@]}" "$VFSH" -Command "$vf_expr" ;;
                pwsh_cold) timed "$out" "$PWSH_BIN" -NoProfile -NonInteractive -Command "Import-Module '$PSD1'; $vf_expr" ;;
                pwsh_keeper) timed "$out" "${KEEPER_ENV[@]}" "$PWSH_BIN" -NoProfile -NonInteractive \
                               -Command "Import-Module '$PSD1'; $vf_expr" ;;
                ssh_xargs) timed "$out" bash -c 'printf "%s\n" "${@:3}" | xargs -P"$2" -I{} ssh -F "$1" root@{} virsh -c qemu:///system list --all' \
                               _ "$SSHCFG" "$par" "${ADDRS[@]}" ;;
                ansible)   cp_run=$(mktemp -d "$CP_DIR/run.XXXXXX")
                           timed "$out" env ANSIBLE_CONFIG="$dir/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$cp_run" \
                               ansible vflab -i "$ans_inv" -f 8 -o -m community.libvirt.virt -a command=list_vms ;;
                ansible_reuse) timed "$out" env ANSIBLE_CONFIG="$dir/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$CP_DIR/reuse" \
                               ansible vflab -i "$ans_inv" -f 8 -o -m community.libvirt.virt -a command=list_vms ;;
            esac
            [[ -n $cp_run ]] && { close_masters "$cp_run"; rm -rf "$cp_run"; }
            if [[ $w == vf_* || $w == pwsh_* ]] && [[ $VF_CMD == Test-VfHost ]]; then
                seen=$(awk '$1 ~ /^vfh[0-9]+$/ { s += $9 } END { print s + 0 }' "$out")   # Instances column
            else
                seen=$(grep -oE 'bench-vfh[0-9]+-[0-9]+' "$out" | sort -u | wc -l)
            fi
            record "$csv" "$w" "$r" "$seen"
            line+=" $w=${T_WALL}s"
        done
        log "$label round $r:$line"
        check_lab
    done

    log "$label: vf warm, one vfsh session, 1 warm-up + $WARM_CALLS timed calls of $VF_CMD"
    /usr/bin/time -v -o "$dir/out/vf_warm.time" "$VFSH" -File "$BENCH/warm.ps1" "$vf_inv" "$VF_CMD" "$WARM_CALLS" \
        > "$dir/out/vf_warm.txt" 2>"$dir/out/vf_warm.stderr" </dev/null || log "$label: the warm session failed: $(tail -n 3 "$dir/out/vf_warm.stderr" | tr '\n' ' ')"
    grep -E '^(call,|[0-9]+,)' "$dir/out/vf_warm.txt" > "$dir/warm.csv" || log "$label: the warm session printed no timings"
    log "$label: vf warm per call (s): $(awk -F, 'NR > 1 { printf "%s%s%s", (NR > 2 ? " " : "first="), $2, ($5 > 0 ? "(" $5 " errors)" : "") }' "$dir/warm.csv")"
    [[ -s $dir/out/vf_warm.stderr ]] && log "$label: warm session errors: $(head -n 2 "$dir/out/vf_warm.stderr" | tr '\n' ' ' | cut -c1-200)"
    check_lab
    if ((is_t1 && LIBVIRT_PATHS)); then
        log "$label: warm through the native libvirt path against virsh, one vfsh session, $WARM_CALLS alternating rounds"
        "$VFSH" -File "$BENCH/warm-paths.ps1" "$vf_inv" "$WARM_CALLS" > "$dir/out/paths.txt" 2>"$dir/out/paths.stderr" </dev/null \
            || log "$label: the paths session failed: $(tail -n 3 "$dir/out/paths.stderr" | tr '\n' ' ')"
        grep -E '^(call,|[0-9]+,)' "$dir/out/paths.txt" > "$dir/paths.csv" || log "$label: the paths session printed no timings"
        [[ -s $dir/out/paths.stderr ]] && log "$label: paths session: $(head -n 3 "$dir/out/paths.stderr" | tr '\n' ' ' | cut -c1-300)"
        python3 - "$dir/paths.csv" <<'PY' | tee "$dir/paths-table.txt" | while read -r l; do log "$label: $l"; done
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {p: statistics.median(float(r["seconds"]) for r in rows if r["path"] == p) for p in ("virsh", "native")}
seen = {p: sorted({r["seen"] for r in rows if r["path"] == p}) for p in ("virsh", "native")}
print(f"T1 warm by libvirt path, {len(rows) // 2} rounds (medians): virsh {med['virsh'] * 1000:.1f} ms, native {med['native'] * 1000:.1f} ms, "
      f"ratio native/virsh {med['native'] / med['virsh']:.3f}; bench domains seen: virsh {seen['virsh']}, native {seen['native']}")
PY
        check_lab
    fi
    ((is_t1)) && stop_keeper
    load_end=$(cut -d' ' -f1-3 /proc/loadavg) elapsed=$((EPOCHSECONDS - t_start))
    write_env
    touch "$dir/DONE"
}

# The running bench domains idle in SeaBIOS at 1-2% of a CPU each: 128 of them at 64 hosts (256 at 128) would take the
# machine's 2 CPUs from the control plane being measured (on a real fleet they run on their hosts' CPUs).
start_renicer 'guest=bench-vfh[0-9]+-'
for n in "${STEP_LIST[@]}"; do run_step "$n"; done
stop_renicer
