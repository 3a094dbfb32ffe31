# bench/lib.sh - paths and helpers shared by the bench scripts (sourced by run.sh, list.sh, t2.sh, import.sh, which
# set -o errexit -o nounset -o pipefail). VFSH and PSD1 may come from the environment: run.sh passes its snapshot
# of the build to the workloads.
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
VFSH=${VFSH:-$ROOT/out/vfsh/vfsh}
PSD1=${PSD1:-$ROOT/out/VirtFleet/VirtFleet.psd1}
VFLAB=$ROOT/lab/vflab.sh
STATE=${VFLAB_STATE_DIR:-/var/lib/virtfleet-lab}
PY=/usr/bin/python3
# Every VirtFleet run makes its own connections, as the numbers before the connection keeper did; only list.sh's
# keeper rows (vf_keeper, pwsh_keeper) turn it on, with a keeper of their own.
export VF_KEEPER=0
#
# The lab is SHARED with other people's tests: nothing here ever runs "vflab.sh down", Stop-VfLab or
# Start-VfLab (which rewrites the lab's inventory.yml that other sessions use), and nothing touches a
# domain whose name does not start with "bench-". Every VirtFleet call gets a bench-written inventory.

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

lab_status() { bash "$VFLAB" status 2>>"${OUT:-/tmp}/vflab.log"; }
# "name address pid running" per host of a status JSON on stdin
status_hosts() {
    "$PY" -c 'import json,sys
for h in json.load(sys.stdin).get("hosts", []):
    print(h["name"], h["address"], h["pid"], "true" if h["running"] else "false")'
}
status_field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# lab_identity FIRST LAST: "name:pid ..." of the running hosts FIRST..LAST (changes when one restarts)
lab_identity() {
    lab_status | status_hosts |
        awk -v a="$1" -v b="$2" '$4 == "true" { i = substr($1, 4) + 0; if (i >= a && i <= b) printf "%s:%s ", $1, $3 }'
}

# ensure_lab N: the lab has hosts 1..N running. Only ever "up" (idempotent, never removes hosts), and
# only when a host of 1..N is missing or not running, so other people's healthy hosts are left alone.
ensure_lab() {
    local n=$1 have
    have=$(lab_status | status_hosts | awk -v n="$n" '$4 == "true" { i = substr($1, 4) + 0; if (i <= n) c++ } END { print c + 0 }')
    if ((have < n)); then
        log "bringing the lab to $n hosts (vflab.sh up $n; $have of hosts 1..$n running)"
        local t0=$EPOCHSECONDS
        # 8>&-: run.sh's lock must not leak into the lab's daemons (they would hold it for good)
        bash "$VFLAB" up "$n" >/dev/null 2>>"${OUT:-/tmp}/vflab.log" 8>&- || return 1
        log "lab up $n: $((EPOCHSECONDS - t0)) s"
    fi
}

# lab_hosts FIRST LAST: sets NAMES ADDRS (hosts FIRST..LAST, ascending) and SSHCFG KNOWN_HOSTS KEY LAB_INI
lab_hosts() {
    local first=$1 last=$2 json name addr i
    json=$(lab_status)
    SSHCFG=$(status_field sshConfig <<<"$json")
    KNOWN_HOSTS=$(status_field knownHosts <<<"$json")
    KEY=$(status_field keyFile <<<"$json")
    LAB_INI=$(status_field inventory <<<"$json")
    NAMES=() ADDRS=()
    while read -r name addr _ _; do
        i=${name#vfh}
        ((i >= first && i <= last)) || continue
        NAMES+=("$name") ADDRS+=("$addr")
    done < <(status_hosts <<<"$json" | sort -t h -k 2 -n)
    ((${#ADDRS[@]} == last - first + 1)) || { log "expected hosts vfh$first..vfh$last in the lab status, got ${#ADDRS[@]}"; return 1; }
}

# write_vf_inventory FILE: a VirtFleet inventory of NAMES/ADDRS (the lab key, the lab's known_hosts)
write_vf_inventory() {
    local i
    {
        printf '# VirtFleet host inventory written by bench/ (%s..%s)\nknownHosts: %s\nhosts:\n' "${NAMES[0]}" "${NAMES[-1]}" "$KNOWN_HOSTS"
        for i in "${!ADDRS[@]}"; do
            printf -- '- name: %s\n  address: %s\n  port: 22\n  user: root\n  keyFile: %s\n  tags:\n  - lab\n' \
                "${NAMES[$i]}" "${ADDRS[$i]}" "$KEY"
        done
    } > "$1"
}

# write_ansible_inventory FILE GROUP: NAMES/ADDRS as GROUP, with the lab's connection variables
write_ansible_inventory() {
    local i
    {
        printf '[%s]\n' "$2"
        for i in "${!ADDRS[@]}"; do printf '%s ansible_host=%s\n' "${NAMES[$i]}" "${ADDRS[$i]}"; done
        printf '\n[%s:vars]\n' "$2"
        sed -n '/^\[vflab:vars\]/,$p' "$LAB_INI" | sed '1d'
    } > "$1"
}

# write_ansible_cfg FILE CONTROL_PATH_DIR FORKS: the bench's Ansible settings (see bench/README.md)
write_ansible_cfg() {
    cat > "$1" <<EOF
# written by bench/
[defaults]
host_key_checking = True
gathering = explicit
forks = $3
retry_files_enabled = False
interpreter_python = /usr/bin/python3
[ssh_connection]
control_path_dir = $2
EOF
}

close_masters() {   # dir: stop the ssh ControlMaster processes whose sockets are in dir (recursively)
    local s
    while IFS= read -r -d '' s; do
        ssh -o ControlPath="$s" -O exit bench-cp >/dev/null 2>&1 || true
    done < <(find "$1" -type s -print0 2>/dev/null)
}

# on_hosts SCRIPT_FILE LOGPREFIX [args...]: runs the script with sh on every host of ADDRS, at most ON_HOSTS_PAR
# (default 16) at once: one ssh each, 300 s limit, keepalive tolerant of a lab host starved of CPU (128 qemu
# starting on 2 CPUs); output in LOGPREFIX.<name>.log; returns 1 when a host failed.
on_hosts() {
    local script=$1 prefix=$2 i p failed=0 par=${ON_HOSTS_PAR:-16} rc
    shift 2
    local -a pid=() live=()
    _on_hosts_done() {   # index: collect its exit code
        rc=0
        wait "${pid[$1]}" || rc=$?
        if ((rc != 0)); then
            failed=1
            log "${NAMES[$1]}: exit $rc: $(tail -n 3 "$prefix.${NAMES[$1]}.log" | tr '\n' ' ' | cut -c1-300)"
        fi
    }
    _on_hosts_poll() {   # waits until fewer than $1 are running
        local -a still
        while ((${#live[@]} >= $1)); do
            still=()
            for p in "${live[@]}"; do
                if kill -0 "${pid[$p]}" 2>/dev/null; then still+=("$p"); else _on_hosts_done "$p"; fi
            done
            live=("${still[@]}")
            ((${#live[@]} >= $1)) && sleep 0.1
        done
        return 0
    }
    for i in "${!ADDRS[@]}"; do
        _on_hosts_poll "$par"
        timeout 300 ssh -F "$SSHCFG" -o ServerAliveCountMax=20 -o LogLevel=INFO "root@${ADDRS[$i]}" sh -s -- "$@" \
            < "$script" > "$prefix.${NAMES[$i]}.log" 2>&1 &
        pid[$i]=$!
        live+=("$i")
    done
    _on_hosts_poll 1
    return "$failed"
}

# timed OUTFILE cmd...: runs cmd under /usr/bin/time -v (stdin /dev/null, stdout+stderr to OUTFILE,
# GNU time's report to OUTFILE.time); sets T_WALL T_USER T_SYS T_RSS (KiB) T_RC. Never fails.
timed() {
    local out=$1 t0 t1 w
    shift
    T_RC=0
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$out.time" "$@" >"$out" 2>&1 </dev/null || T_RC=$?
    t1=$EPOCHREALTIME
    w=$(( ${t1/./} - ${t0/./} ))
    T_WALL=$(printf '%d.%06d' $((w / 1000000)) $((w % 1000000)))
    T_USER=$(awk -F': ' '/User time/ {print $2}' "$out.time" 2>/dev/null)
    T_SYS=$(awk -F': ' '/System time/ {print $2}' "$out.time" 2>/dev/null)
    T_RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out.time" 2>/dev/null)
    ((T_RC == 0)) || log "$(basename "$out") failed (exit $T_RC): $(tail -n 2 "$out" | tr '\n' ' ' | cut -c1-240)"
    return 0
}

# record CSV WORKLOAD ROUND SEEN: appends the last timed() run as
# "workload,round,wall_s,user_s,sys_s,maxrss_kib,seen,rc"
record() { echo "$2,$3,$T_WALL,${T_USER:-},${T_SYS:-},${T_RSS:-},$4,$T_RC" >> "$1"; }
RUNS_HEADER='workload,round,wall_s,user_s,sys_s,maxrss_kib,seen,rc'

# The bench's connection keeper for the "keeper" peers (T1's vf_keeper/pwsh_keeper, T2's vf_keeper): its own
# XDG_RUNTIME_DIR, so it is never the user's. start_keeper makes the folder and sets KEEPER_ENV, the command prefix that
# runs through it (the first run starts the keeper and vfsh's warm shell); stop_keeper ends both (Disconnect-VfHost -All).
KEEPER_RUN= KEEPER_ENV=()
start_keeper() {
    stop_keeper
    KEEPER_RUN=$(mktemp -d /tmp/vfbench-keeper.XXXXXX)   # 0700: the keeper's socket folder ($XDG_RUNTIME_DIR/virtfleet)
    KEEPER_ENV=(env VF_KEEPER=1 XDG_RUNTIME_DIR="$KEEPER_RUN")
}
stop_keeper() {
    [[ -n $KEEPER_RUN && -d $KEEPER_RUN ]] || return 0
    "${KEEPER_ENV[@]}" timeout 60 "$VFSH" -Command 'Disconnect-VfHost -All' >/dev/null 2>&1 </dev/null || true
    rm -rf "$KEEPER_RUN"
    KEEPER_RUN= KEEPER_ENV=()
}

# start_renicer REGEX: a background loop (PID in RENICER_PID) that gives every thread of each new qemu process
# whose command line matches REGEX (e.g. 'guest=bench-t2') nice 19, and its autogroup too (with
# sched_autogroup_enabled, plain nice has no effect across sessions), within about 0.1 s of its start.
# On this machine the lab's guests run on the same 2 CPUs as the control plane being measured (vfsh, ssh,
# ansible, sshd, virsh, libvirtd); 16 booting TCG guests would otherwise take ~90% of the CPU and turn every
# timing into a measure of the guests' boot. On a real fleet guests run on their hosts' own CPUs.
start_renicer() {
    local parent=$BASHPID
    (
        trap 'exit 0' TERM
        declare -A seen=()
        while kill -0 "$parent" 2>/dev/null; do   # ends with the script that started it
            for p in $(pgrep -f -- "$1"); do
                [[ -n ${seen[$p]:-} ]] && continue
                seen[$p]=1
                # the scheduler's autogroup (qemu is a session leader: its own group) and every thread
                { echo 19 > /proc/"$p"/autogroup; } 2>/dev/null
                for t in /proc/"$p"/task/*; do renice -n 19 -p "${t##*/}" >/dev/null 2>&1; done
            done
            sleep 0.1
        done
    ) &
    RENICER_PID=$!
}
stop_renicer() { [[ -n ${RENICER_PID:-} ]] && { kill "$RENICER_PID" 2>/dev/null; wait "$RENICER_PID" 2>/dev/null; RENICER_PID=; }; return 0; }

# env_common: machine facts for env.txt
env_common() {
    echo "cpus=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "mem_total_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "machine_note=the lab hosts (sshd, libvirtd, qemu), the clients (vfsh, ssh, ansible) and other people's concurrent work (builds, lab tests) share these $(nproc) CPUs: absolute times are noisy, compare ratios of medians from interleaved rounds"
    echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')"
    echo "vfsh_built=$(date -r "$VFSH" '+%Y-%m-%dT%H:%M:%S' 2>/dev/null)"
    echo "ssh=$(ssh -V 2>&1)"
}

# env_footer LOAD_START T_START: the last lines of a workload's env.txt: load, elapsed time, the machine
env_footer() {
    echo "load_start=$1"
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "elapsed_s=$((EPOCHSECONDS - $2))"
    env_common
}
