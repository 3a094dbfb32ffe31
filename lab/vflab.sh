#!/usr/bin/env bash
# vflab.sh - the VirtFleet lab fleet: N libvirt "hosts" on one Linux machine.
#
# Each lab host vfh<i> (1 <= i <= 128) is
#   * a network namespace vflab-h<i>: eth0 = 198.51.100.(10+i)/24, lo up, ip_forward=1,
#     IPv6 off; eth0's peer "vflab-h<i>" is a port of the bridge vflab0, which carries the
#     admin address 198.51.100.1/24 in the root namespace;
#   * a private mount + UTS namespace (hostname vfh<i>) held by the host's init, a bash
#     loop ("... vflab.sh __init <i> vflab-init:<hostdir>/") that is a child subreaper:
#     the daemons and their orphans (qemu, dnsmasq) are its descendants and it reaps them
#     at once. Its PID is "pid" in status and <hostdir>/init.pid; join the host with
#     "nsenter -t <pid> -m -n [-u]". PIDs in the host's /run/*.pid are ordinary PIDs.
#     In that mount namespace /run, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt,
#     /var/cache/libvirt and /root come from <hostdir>/fs/*, /etc/hosts from
#     <state>/etc-hosts (all lab names), /sys is the host netns's own sysfs; the rest
#     (/usr, /tmp, /dev incl. /dev/kvm, ...) is the machine's;
#   * virtlogd, libvirtd (qemu.conf: user/group root, dynamic_ownership 0, security_driver
#     "none", no cgroup controllers, no namespaces; host_uuid fixed per host; no "default"
#     network) and sshd (own ed25519 host key, listening on 198.51.100.(10+i):22, root
#     login with the lab key only). "kill -USR1 <pid>" makes init start whichever of them
#     is not running ("up" does that too);
#   * for i <= 16: a libvirt network "vflab" (forward mode route, bridge vfbr0, gateway .1 of
#     the i-th usable /28 of the guest /24, DHCP over the rest of that /28, autostart), reachable
#     from the root namespace through the route <that /28> via 198.51.100.(10+i). A /28 that
#     holds an address this machine needs (package registries, name servers, gateway,
#     VFLAB_AVOID) is never used, so a host past the usable /28s has no guest network.
#
# Usage:
#   vflab.sh up N      bring the lab to at least N hosts (1..128). Idempotent: starts missing
#                      daemons, recreates broken hosts (keeping their disks and
#                      definitions, like a reboot), never removes hosts above N. Returns
#                      when every host 1..N answers on ssh and "virsh uri" and (i <= 16) its
#                      network runs dnsmasq; then prints the status JSON on stdout.
#                      Progress and errors go to stderr.
#   vflab.sh shrink N  remove the hosts above N (processes, namespace, veth, routes and their
#                      folders, disks included); hosts 1..N are left as they are. For a big
#                      run that is over (a 128-host bench): idle hosts still cost memory.
#   vflab.sh down      remove everything the lab made (idempotent, also partial state).
#   vflab.sh status    print the lab as JSON on stdout; exit 0 also when there is no lab:
#     {"stateDir":"/var/lib/virtfleet-lab","bridge":"vflab0","adminAddress":"198.51.100.1",
#      "guestNetwork":"203.0.113.0/24"|null,"keyFile":"<state>/id_ed25519",
#      "knownHosts":"<state>/known_hosts","sshConfig":"<state>/ssh_config",
#      "inventory":"<state>/inventory.ini",
#      "hosts":[{"name":"vfh1","address":"198.51.100.11","netns":"vflab-h1","pid":1234,
#                "running":true,"guestSubnet":"203.0.113.0/28"|null}, ...]}
#     pid is 0 when the host's init is gone; running = init, sshd and libvirtd alive.
#   vflab.sh help
# Exit codes: 0 ok, 1 failure (the message names the host and its log), 2 usage error.
#
# Files in the state dir: id_ed25519(.pub) lab key; known_hosts (one "<ip> <key>" and one
# "vfh<i> <key>" line per host); ssh_config ("ssh -F <state>/ssh_config vfh1");
# inventory.ini (Ansible); hosts/vfh<i>/{fs,ssh,log}/ per host (logs: init.log,
# daemons.log, libvirtd.log, virtlogd.log, sshd.log; qemu logs in fs/var-log-libvirt/qemu).
#
# Environment:
#   VFLAB_STATE_DIR  state directory (default /var/lib/virtfleet-lab): an absolute path of
#                    [A-Za-z0-9._/-], not under /root, /run or the libvirt directories
#                    (those are replaced inside the hosts).
#   VFLAB_TIMEOUT    seconds each host may take to become ready (default 60).
#   VFLAB_PARALLEL   hosts brought up at once (default 16; "up 128" on 2 CPUs goes in windows).
#   VFLAB_AVOID      more addresses (space-separated) no routed guest subnet may hold.
#   VFLAB_GUEST_NET  /24 for guest subnets: 192.0.2.0/24 or 203.0.113.0/24. Default:
#                    192.0.2.0/24 unless the root namespace already routes part of it (on
#                    machines whose uplink is in 192.0.2.0/24), then 203.0.113.0/24. Kept
#                    in <state>/guest-net; shown by status.
#
# Addresses: only 198.51.100.0/24 (hosts), 192.0.2.0/24 or 203.0.113.0/24 (guests) and
# loopback. In the root namespace the lab adds: bridge vflab0, veths vflab-h*, netns
# vflab-h*, routes to the guest subnets via vflab0 and - only if the root FORWARD chain
# would drop bridged traffic (br_netfilter on, policy not ACCEPT or rules present) - one
# iptables rule tagged "vflab-lab". "down" removes all of it. The empty lock file
# /run/lock/virtfleet-lab.lock (tmpfs) is the only thing left behind.
#
# Needs (Debian packages): iproute2, util-linux, perl-base, openssh-server, openssh-client,
# libvirt-daemon-system, libvirt-clients, qemu-system-x86, dnsmasq-base, iptables.

set -o nounset -o pipefail
umask 022
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

readonly MAX_HOSTS=128
readonly GUEST_HOSTS=16
readonly BRIDGE=vflab0
readonly ADMIN_PREFIX=198.51.100
readonly ADMIN_IP=198.51.100.1
readonly LOCK_FILE=/run/lock/virtfleet-lab.lock
readonly FW_TAG=vflab-lab
readonly MARK=vflab-init
readonly MARK_RE='vflab-ini[t]:'      # matches the marker, not a grep for it
# prctl(PR_SET_CHILD_SUBREAPER, 1) then exec: orphans of the host's daemons (qemu, dnsmasq
# helpers, ...) are re-parented to the host's init, which reaps them at once. (libvirt waits
# for its children to vanish; reaped late by the machine's PID 1 that costs ~2 s each.)
SUBREAPER_PL='my $nr = shift @ARGV;
if (!$nr || syscall($nr, 36, 1, 0, 0, 0) != 0) { print STDERR "vflab: warning: init is no child subreaper\n"; }
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";'
case $(uname -m) in x86_64) PRCTL_NR=157 ;; aarch64) PRCTL_NR=167 ;; i?86) PRCTL_NR=172 ;; *) PRCTL_NR=0 ;; esac
readonly PRCTL_NR
readonly SUBREAPER_PL
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF

STATE=${VFLAB_STATE_DIR:-/var/lib/virtfleet-lab}
TIMEOUT=${VFLAB_TIMEOUT:-60}
PARALLEL=${VFLAB_PARALLEL:-16}
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || PARALLEL=16

log() { printf 'vflab: %s\n' "$*" >&2; }
T_START=${EPOCHREALTIME/./}
dbg() { [[ -n ${VFLAB_DEBUG:-} ]] && printf 'vflab: [+%6.2fs] %s\n' "$(( ${EPOCHREALTIME/./} - T_START ))e-6" "$*" >&2; return 0; }
die() { printf 'vflab: error: %s\n' "$*" >&2; exit 1; }
usage() {   # exit code; help goes to stdout, usage errors to stderr
    local fd=2
    [[ ${1:-2} == 0 ]] && fd=1
    sed -n '/^# Usage:/,/^# Needs/p' "$SELF" | sed 's/^# \{0,1\}//' >&"$fd"
    exit "${1:-2}"
}
now() { printf '%s' "${EPOCHREALTIME/./}"; }          # microseconds
elapsed() { local t=$(( $(now) - $1 )); printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000)); }

# ---------------------------------------------------------------- names and paths
hdir()    { printf '%s/hosts/vfh%d' "$STATE" "$1"; }
haddr()   { printf '%s.%d' "$ADMIN_PREFIX" $((10 + $1)); }
hns()     { printf 'vflab-h%d' "$1"; }
hmac()    { printf '02:76:66:%02x:00:%02x' "$2" "$1"; }     # hmac i side(0 host,1 root)
host_uuid() { printf '564c4142-7666-4000-8000-%012x' "$1"; }

validate_state_dir() {
    [[ $STATE == /* ]] || die "VFLAB_STATE_DIR must be absolute: $STATE"
    [[ $STATE =~ ^[A-Za-z0-9._/-]+$ ]] || die "VFLAB_STATE_DIR may only contain [A-Za-z0-9._/-]: $STATE"
    STATE=$(realpath -m -- "$STATE")
    local p
    for p in / /root /run /var/run /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /proc /sys /dev; do
        if [[ $STATE == "$p" || ( $p != / && $STATE == "$p"/* ) ]]; then
            die "VFLAB_STATE_DIR must not be $p or lie under it (hidden inside lab hosts): $STATE"
        fi
    done
    export VFLAB_STATE_DIR=$STATE
}

# Guest subnet of host i: the i-th usable /28 of the guest /24 (none past GUEST_HOSTS or the usable blocks).
# Needs GUEST_BASE (a.b.c) and GUEST_BLOCKS (the usable blocks' offsets).
guest_offset() { (( $1 <= GUEST_HOSTS && $1 <= ${#GUEST_BLOCKS[@]} )) && [[ -n ${GUEST_BASE:-} ]] && printf '%d' "${GUEST_BLOCKS[$1 - 1]}"; }
guest_subnet() { local b; b=$(guest_offset "$1") && printf '%s.%d/28' "$GUEST_BASE" "$b"; }
load_guest_base() {
    GUEST_BASE='' GUEST_BLOCKS=()
    local g
    [[ -r $STATE/guest-net ]] && read -r g < "$STATE/guest-net" && GUEST_BASE=${g%.0/24}
    [[ -r $STATE/guest-blocks ]] && read -r -a GUEST_BLOCKS < "$STATE/guest-blocks"
    (( ${#GUEST_BLOCKS[@]} )) || mapfile -t GUEST_BLOCKS < <(seq 0 16 240)
    return 0
}
# Addresses this machine itself needs: its package registries, name servers and gateway, and VFLAB_AVOID.
needed_addresses() {
    local names
    names=$(grep -hoE '^[^#]*https?://[^/ :]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | sed 's#.*://##')
    for n in $names api.nuget.org registry.npmjs.org; do timeout 3 getent ahostsv4 "$n" 2>/dev/null | awk '{print $1}'; done
    awk '$1 == "nameserver" {print $2}' /etc/resolv.conf 2>/dev/null
    ip -4 route show default 2>/dev/null | awk '{print $3}'
    printf '%s\n' ${VFLAB_AVOID:-}
}
# The guest /28s the lab routes over its bridge: never one holding an address the machine needs, or the lab would
# cut the machine off from it (seen: a package mirror inside 203.0.113.0/24). Kept in <state>/guest-blocks.
choose_guest_blocks() {
    local needed b a ok
    needed=$(needed_addresses | sort -u)
    GUEST_BLOCKS=()
    for ((b = 0; b < 256; b += 16)); do
        ok=1
        for a in $needed; do
            [[ $a == "$GUEST_BASE".* ]] && (( ${a##*.} >= b && ${a##*.} < b + 16 )) && { ok=0; log "guest subnet $GUEST_BASE.$b/28 skipped: it holds $a, which this machine needs"; }
        done
        (( ok )) && GUEST_BLOCKS+=("$b")
    done
    printf '%s\n' "${GUEST_BLOCKS[*]}" > "$STATE/guest-blocks.new" && mv -f "$STATE/guest-blocks.new" "$STATE/guest-blocks" ||
        die "cannot write $STATE/guest-blocks"
}

# ---------------------------------------------------------------- small helpers
ip2int() { local IFS=.; set -- $1; printf '%d' $(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 )); }
# overlaps A/len B/len
overlaps() {
    local a=${1%/*} al=${1#*/} b=${2%/*} bl=${2#*/} l m
    [[ $1 == */* ]] || al=32
    [[ $2 == */* ]] || bl=32
    l=$(( al < bl ? al : bl ))
    m=$(( l == 0 ? 0 : (0xffffffff << (32 - l)) & 0xffffffff ))
    (( ($(ip2int "$a") & m) == ($(ip2int "$b") & m) ))
}
# Is prefix $1 already used in the root namespace by anything but the lab bridge?
root_conflict() {
    local line w dst
    while read -r line; do
        [[ $line == *" dev $BRIDGE "* || $line == *" dev $BRIDGE" ]] && continue
        dst=
        for w in $line; do
            case $w in
                unicast|local|broadcast|multicast|throw|unreachable|prohibit|blackhole|nat|anycast) continue ;;
                *) dst=$w; break ;;
            esac
        done
        [[ $dst =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?$ ]] || continue   # skips "default"
        if overlaps "$dst" "$1"; then printf '%s' "$line"; return 0; fi
    done < <(ip -4 -o route show table all 2>/dev/null)
    return 1
}

pid_alive_as() {   # pidfile comm [netns-path]  -> prints pid when alive
    local p= c=
    read -r p 2>/dev/null < "$1"
    [[ $p =~ ^[0-9]+$ ]] || return 1
    read -r c 2>/dev/null < "/proc/$p/comm" || return 1
    [[ $c == "$2" ]] || return 1
    if [[ -n ${3:-} ]]; then [[ /proc/$p/ns/net -ef $3 ]] || return 1; fi
    printf '%s' "$p"
}
host_daemon_alive() {   # i pidfile-inside-host comm  (checked from the root ns)
    local p= c=
    read -r p 2>/dev/null < "$(hdir "$1")/fs$2"
    [[ $p =~ ^[0-9]+$ ]] || return 1
    read -r c 2>/dev/null < "/proc/$p/comm" || return 1
    [[ $c == "$3" && /proc/$p/ns/net -ef /run/netns/$(hns "$1") ]]
}
proc_running() {   # pid : exists and is no zombie
    local st=
    read -r _ _ st _ 2>/dev/null < "/proc/$1/stat" || return 1
    [[ $st != Z ]]
}
init_pid() {       # i -> pid of a live init of host i
    local H; H=$(hdir "$1")
    pid_alive_as "$H/init.pid" bash "/run/netns/$(hns "$1")"
}
hexec() {          # i cmd... : run inside host i with a clean environment
    local i=$1 pid; shift
    pid=$(init_pid "$i") || return 1
    nsenter -t "$pid" -m -n -u -- env -i PATH="$PATH" LANG=C.UTF-8 LC_ALL=C HOME=/root \
        VFLAB_STATE_DIR="$STATE" "$@"
}

json_str() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}
    printf '"%s"' "$s"
}

existing_hosts() {  # prints indices of hosts that have a state dir, ascending
    local i
    for ((i = 1; i <= MAX_HOSTS; i++)); do [[ -d $STATE/hosts/vfh$i ]] && printf '%d\n' "$i"; done
    return 0
}

take_lock() {
    mkdir -p "${LOCK_FILE%/*}"
    exec 9>>"$LOCK_FILE" || die "cannot open $LOCK_FILE"
    flock -w 600 9 || die "another vflab.sh holds $LOCK_FILE"
}

# ---------------------------------------------------------------- process sweep
# Prints PIDs of lab processes: everything in a named vflab-h* netns, and everything
# sharing a net or mount namespace with a lab marker process (init, sshd, libvirtd,
# virtlogd whose command line names a lab host dir). Args: host-dir regex, netns names.
lab_pids() {
    local re=$1; shift
    local -A ns=()
    local self_net self_mnt n f p c id
    self_net=$(stat -L -c %i /proc/$$/ns/net) self_mnt=$(stat -L -c %i /proc/$$/ns/mnt)
    for n in "$@"; do
        [[ -e /run/netns/$n ]] && id=$(stat -L -c %i "/run/netns/$n" 2>/dev/null) && ns[net:$id]=1
    done
    while read -r f; do
        p=${f#/proc/}; p=${p%%/*}
        read -r c 2>/dev/null < "/proc/$p/comm" || continue
        case $c in bash|sshd|libvirtd|virtlogd) ;; *) continue ;; esac
        id=$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) && [[ $id != "$self_net" ]] && ns[net:$id]=1
        id=$(stat -L -c %i "/proc/$p/ns/mnt" 2>/dev/null) && [[ $id != "$self_mnt" ]] && ns[mnt:$id]=1
    done < <(grep -l -a -s -E -- "$re" /proc/[0-9]*/cmdline 2>/dev/null)
    (( ${#ns[@]} )) || return 0
    stat -L -c '%n %i' /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt 2>/dev/null |
    while read -r f id; do
        p=${f#/proc/}; p=${p%%/*}
        [[ $p == "$$" ]] && continue
        n=${f##*/}
        [[ -n ${ns[$n:$id]:-} ]] && printf '%s\n' "$p"
    done | sort -un
}
kill_lab() {      # regex netns... ; SIGKILL until nothing is left
    local round pids p left deadline
    for round in 1 2 3 4 5; do
        pids=$(lab_pids "$@")
        [[ -z $pids ]] && return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        deadline=$(( $(now) + 5000000 ))
        while :; do
            left=
            for p in $pids; do proc_running "$p" && left+=" $p"; done
            [[ -z $left ]] && break
            (( $(now) > deadline )) && { log "warning: processes did not die:$left"; break; }
            sleep 0.02
        done
    done
}
state_re() { local s=${STATE//./\\.}; printf '%s/host[s]/vfh%s/' "$s" "$1"; }

# ---------------------------------------------------------------- root network
ensure_bridge() {
    if [[ ! -e /sys/class/net/$BRIDGE ]]; then
        ip link add "$BRIDGE" address 02:76:66:ff:00:01 type bridge stp_state 0 forward_delay 0 \
            || die "cannot create bridge $BRIDGE"
    fi
    echo 1 > "/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6" 2>/dev/null
    ip addr replace "$ADMIN_IP/24" dev "$BRIDGE" || die "cannot address $BRIDGE"
    ip link set "$BRIDGE" up || die "cannot bring up $BRIDGE"
}
fw_needed() {
    local f
    [[ -r /proc/sys/net/bridge/bridge-nf-call-iptables ]] || return 1
    read -r f < /proc/sys/net/bridge/bridge-nf-call-iptables; [[ $f == 1 ]] || return 1
    command -v iptables-save >/dev/null || return 1
    f=$(iptables-save -t filter 2>/dev/null) || return 1
    [[ $f == *":FORWARD ACCEPT"* && $f != *"-A FORWARD "* ]] && return 1
    return 0
}
fw_has_rule() { iptables-save -t filter 2>/dev/null | grep -q -- "--comment $FW_TAG"; }
ensure_fw() {
    fw_needed || return 0
    fw_has_rule && return 0
    log "root FORWARD chain filters bridged traffic: adding one ACCEPT rule for $BRIDGE (tag $FW_TAG)"
    iptables -w -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$FW_TAG" -j ACCEPT \
        || die "cannot add iptables rule for $BRIDGE"
}
remove_fw() {
    command -v iptables-save >/dev/null || return 0
    local n=0
    while fw_has_rule && (( n++ < 20 )); do
        iptables -w -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$FW_TAG" -j ACCEPT 2>/dev/null || break
    done
}

choose_guest_net() {
    local want=${VFLAB_GUEST_NET:-} c line cands
    load_guest_base
    if [[ -n $want ]]; then
        case $want in 192.0.2.0/24|203.0.113.0/24) ;; *) die "VFLAB_GUEST_NET must be 192.0.2.0/24 or 203.0.113.0/24" ;; esac
        cands=$want
    elif [[ -n $GUEST_BASE ]]; then
        cands=$GUEST_BASE.0/24
    else
        cands="192.0.2.0/24 203.0.113.0/24"
    fi
    local skipped=
    for c in $cands; do
        if line=$(root_conflict "$c"); then
            skipped+="; $c is in use here ($line)"
            continue
        fi
        if [[ $c != "${GUEST_BASE:-}.0/24" ]]; then
            [[ -n $GUEST_BASE ]] && log "guest range changes from $GUEST_BASE.0/24 to $c"
            GUEST_NEW=$c                     # saved by save_guest_net once the state dir exists
            log "guest subnets use $c$skipped"
        fi
        GUEST_BASE=${c%.0/24}
        return 0
    done
    die "no usable guest range${skipped}; set VFLAB_GUEST_NET to a free one"
}
save_guest_net() {
    [[ -n ${GUEST_NEW:-} ]] || return 0
    printf '%s\n' "$GUEST_NEW" > "$STATE/guest-net.new" && mv -f "$STATE/guest-net.new" "$STATE/guest-net" ||
        die "cannot write $STATE/guest-net"
}

# ---------------------------------------------------------------- per-host files
write_host_files() {   # i
    local i=$1 H addr sub
    H=$(hdir "$i") addr=$(haddr "$i")
    mkdir -p "$H"/fs/{run,etc-libvirt,var-lib-libvirt,var-log-libvirt,var-cache-libvirt,root/.ssh} "$H/ssh" "$H/log" || return 1
    chmod 0700 "$H/fs/root" "$H/fs/root/.ssh"
    # the host's own /root: ssh to the other lab hosts works with strict host key checking
    cat > "$H/fs/root/.ssh/config" <<EOF
Host vfh* $ADMIN_PREFIX.*
    User root
    IdentityFile $STATE/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $STATE/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 10
EOF
    if [[ ! -s $H/ssh/ssh_host_ed25519_key.pub ]]; then
        rm -f "$H/ssh/ssh_host_ed25519_key" "$H/ssh/ssh_host_ed25519_key.pub"
        ssh-keygen -q -t ed25519 -N '' -C "root@vfh$i" -f "$H/ssh/ssh_host_ed25519_key" || return 1
    fi
    cat > "$H/ssh/sshd_config" <<EOF
# VirtFleet lab host vfh$i - generated by vflab.sh
ListenAddress $addr:22
HostKey $H/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 200
MaxSessions 100
LoginGraceTime 30
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    local E=$H/fs/etc-libvirt
    [[ -d $E/nwfilter || ! -d /etc/libvirt/nwfilter ]] || cp -a /etc/libvirt/nwfilter "$E/" || return 1
    mkdir -p "$E/qemu/networks/autostart"
    rm -f "$E/qemu/networks/default.xml" "$E/qemu/networks/autostart/default.xml"
    cat > "$E/libvirtd.conf" <<EOF
# VirtFleet lab host vfh$i - generated by vflab.sh
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$(host_uuid "$i")"
log_outputs = "3:file:$H/log/libvirtd.log"
min_workers = 2
max_workers = 20
prio_workers = 2
admin_min_workers = 1
admin_max_workers = 2
EOF
    cat > "$E/virtlogd.conf" <<EOF
log_outputs = "3:file:$H/log/virtlogd.log"
EOF
    cat > "$E/qemu.conf" <<EOF
# VirtFleet lab host vfh$i - generated by vflab.sh. The host is already a namespace.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "logd"
EOF
    printf 'uri_default = "qemu:///system"\n' > "$E/libvirt.conf"
    if sub=$(guest_subnet "$i"); then
        local b
        b=$(guest_offset "$i")
        cat > "$H/vflab-net.xml" <<EOF
<network>
  <name>vflab</name>
  <forward mode='route'/>
  <bridge name='vfbr0' stp='off' delay='0'/>
  <mac address='52:54:00:76:66:$(printf '%02x' "$i")'/>
  <ip address='$GUEST_BASE.$((b + 1))' netmask='255.255.255.240'>
    <dhcp>
      <range start='$GUEST_BASE.$((b + 2))' end='$GUEST_BASE.$((b + 14))'/>
    </dhcp>
  </ip>
</network>
EOF
    else
        rm -f "$H/vflab-net.xml"
    fi
    # Seed libvirt's qemu capability cache (saves probing qemu in every host).
    local C=$H/fs/var-cache-libvirt/qemu/capabilities
    if [[ ! -d $C && -d $STATE/cache/qemu-capabilities ]]; then
        mkdir -p "$C" && cp -a "$STATE/cache/qemu-capabilities/." "$C/" 2>/dev/null
    fi
    return 0
}

# ---------------------------------------------------------------- in-host commands
# Runs as the host's init: inside the host netns, in a fresh mount + UTS namespace.
cmd_init() {
    local i=$1 H addr
    H=$(hdir "$i") addr=$(haddr "$i")
    set -e
    hostname "vfh$i"
    echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
    echo 1 > /proc/sys/net/ipv4/ip_forward
    ip link set lo up
    ip addr replace "$addr/24" dev eth0
    ip link set eth0 up
    umount -l /run/netns 2>/dev/null || true     # drop copies of other netns handles
    umount -l /sys 2>/dev/null || true
    mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
    mount --bind "$H/fs/run" /run
    mount --bind "$H/fs/etc-libvirt" /etc/libvirt
    mkdir -p /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    mount --bind "$H/fs/var-lib-libvirt" /var/lib/libvirt
    mount --bind "$H/fs/var-log-libvirt" /var/log/libvirt
    mount --bind "$H/fs/var-cache-libvirt" /var/cache/libvirt
    mount --bind "$STATE/etc-hosts" /etc/hosts || echo "vfh$i: warning: no lab /etc/hosts"
    mount --bind "$H/fs/root" /root
    mkdir -p /run/sshd /run/lock /run/libvirt
    chmod 0755 /run/sshd
    set +e
    cd /
    # "kill -USR1 <init>" asks init to start missing daemons as its own descendants; the
    # request token is read from ctl.req, the answer ("<token>" then "ok" or an error)
    # written to ctl.res.
    on_usr1() {
        local tok= out st
        read -r tok 2>/dev/null < "$H/ctl.req"
        if out=$(cmd_daemons "$i" 2>&1); then st=ok; else st="error: ${out//$'\n'/ }"; fi
        printf '%s\n%s\n' "$tok" "$st" > "$H/ctl.res.new" && mv -f "$H/ctl.res.new" "$H/ctl.res"
    }
    trap on_usr1 USR1
    trap '' HUP INT PIPE
    printf '%d\n' $$ > "$H/init.pid.new"
    mv -f "$H/init.pid.new" "$H/init.pid"
    echo "vfh$i: init $$ ready"
    # Reaper loop: bash's wait reaps every child, including adopted orphans.
    local sp
    sleep 86400 & sp=$!
    while :; do
        wait "$sp"
        [[ -e /proc/$sp ]] || { sleep 86400 & sp=$!; }
    done
}

# Runs in host i's init (see on_usr1): start whichever daemon is not running.
cmd_daemons() {
    local i=$1 H
    H=$(hdir "$i")
    alive() {
        local p= c=
        read -r p 2>/dev/null < "$1"
        [[ $p =~ ^[0-9]+$ ]] || return 1
        read -r c 2>/dev/null < "/proc/$p/comm" || return 1
        [[ $c == "$2" && /proc/$p/ns/mnt -ef /proc/self/ns/mnt ]]
    }
    mkdir -p /run/sshd /run/libvirt && chmod 0755 /run/sshd
    local L=$H/log/daemons.log
    alive /run/virtlogd.pid virtlogd || virtlogd -d -f "$H/fs/etc-libvirt/virtlogd.conf" </dev/null >>"$L" 2>&1 \
        || { echo "vfh$i: virtlogd failed to start (see $L)"; return 1; }
    alive /run/libvirtd.pid libvirtd || libvirtd -d -f "$H/fs/etc-libvirt/libvirtd.conf" </dev/null >>"$L" 2>&1 \
        || { echo "vfh$i: libvirtd failed to start (see $L)"; return 1; }
    alive /run/sshd.pid sshd || /usr/sbin/sshd -f "$H/ssh/sshd_config" -E "$H/log/sshd.log" </dev/null >>"$L" 2>&1 \
        || { echo "vfh$i: sshd failed to start (see $L)"; return 1; }
    return 0
}

# Runs inside host i: no "default" network; for i <= 16 the "vflab" network active with
# its dnsmasq running.
cmd_net() {
    local i=$1 H gw= out xml name state auto _ have=0 active=0 autostart=0 cmds=() pid= c
    H=$(hdir "$i")
    local V=(virsh -q -c qemu:///system)
    out=$("${V[@]}" net-list --all) || { echo "vfh$i: virsh net-list failed"; return 1; }
    [[ -f $H/vflab-net.xml ]] && read -r gw < <(sed -n "s/.*<ip address='\([0-9.]*\)'.*/\1/p" "$H/vflab-net.xml")
    while read -r name state auto _; do
        case $name in
            vflab)
                [[ -n $gw ]] && xml=$("${V[@]}" net-dumpxml --inactive vflab) || xml=
                if [[ $xml == *"address='$gw' netmask='255.255.255.240'"* && $xml == *"name='vfbr0'"* ]]; then
                    have=1
                    [[ $state == active ]] && active=1
                    [[ $auto == yes ]] && autostart=1
                    continue
                fi ;;
            default) ;;
            *) continue ;;
        esac
        echo "vfh$i: removing libvirt network $name"
        [[ $state == active ]] && cmds+=("net-destroy $name")
        cmds+=("net-undefine $name")
    done <<< "$out"
    if [[ -n $gw ]]; then
        (( have )) || cmds+=("net-define $H/vflab-net.xml")
        (( autostart )) || cmds+=("net-autostart vflab")
        (( active )) || cmds+=("net-start vflab")
    fi
    if (( ${#cmds[@]} )); then
        local IFS=';'
        out=$("${V[@]}" "${cmds[*]}" 2>&1 >/dev/null) || { echo "vfh$i: virsh '${cmds[*]}' failed: $out"; return 1; }
        unset IFS
    fi
    [[ -n $gw ]] || return 0
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        if { read -r pid; [[ -n $pid ]]; } 2>/dev/null < /run/libvirt/network/vflab.pid && [[ $pid =~ ^[0-9]+$ ]] &&
           read -r c 2>/dev/null < "/proc/$pid/comm" && [[ $c == dnsmasq ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "vfh$i: dnsmasq of network vflab is not running (see $H/fs/var-log-libvirt and $H/log/libvirtd.log)"
    return 1
}

# ---------------------------------------------------------------- host lifecycle
host_teardown() {   # i : remove processes, netns and veth of one host (keeps its files)
    local i=$1 ns H
    ns=$(hns "$i") H=$(hdir "$i")
    kill_lab "$(state_re "$i")|$MARK_RE${H//./\\.}/" "$ns"
    ip link del "$ns" 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -f "$H/init.pid"
    return 0
}

sshd_answers() {    # addr
    local line
    { exec 3<>"/dev/tcp/$1/22"; } 2>/dev/null || return 1
    read -r -t 2 line <&3
    exec 3<&- 3>&-
    [[ $line == SSH-2.0-* ]]
}

# Bring host i up (or repair it) and wait until it is ready. Runs in a background job.
host_up() {
    local i=$1 H ns addr pid deadline t0 sub out ipid started
    H=$(hdir "$i") ns=$(hns "$i") addr=$(haddr "$i")
    t0=$(now)
    deadline=$(( t0 + TIMEOUT * 1000000 ))
    fail() { log "vfh$i ($addr): $*"; return 1; }

    write_host_files "$i" || { fail "cannot write its files under $H"; return 1; }
    if pid=$(init_pid "$i") && [[ -e /sys/class/net/$ns ]]; then
        ip link set "$ns" master "$BRIDGE" up 2>/dev/null
    else
        if [[ -e $H/init.pid || -e /run/netns/$ns || -e /sys/class/net/$ns ]]; then
            log "vfh$i: stale or broken host found, recreating it"
        fi
        host_teardown "$i"
        rm -rf "$H/fs/run" && mkdir -p "$H/fs/run"
        ip netns add "$ns" || { fail "ip netns add $ns failed"; return 1; }
        ip link add "$ns" address "$(hmac "$i" 1)" type veth \
            peer name eth0 address "$(hmac "$i" 0)" netns "$ns" || { fail "cannot create veth $ns"; return 1; }
        echo 1 > "/proc/sys/net/ipv6/conf/$ns/disable_ipv6" 2>/dev/null
        ip link set "$ns" master "$BRIDGE" up || { fail "cannot attach $ns to $BRIDGE"; return 1; }
        setsid nsenter --net="/run/netns/$ns" -- unshare --mount --uts --propagation private -- \
            perl -e "$SUBREAPER_PL" "$PRCTL_NR" /bin/bash "$SELF" __init "$i" "$MARK:$H/" \
            </dev/null >>"$H/log/init.log" 2>&1 9>&- &
        ipid=$!
        dbg "vfh$i: netns ready, init starting"
        until pid=$(init_pid "$i"); do
            proc_running "$ipid" || { fail "init exited: $(tail -n 3 "$H/log/init.log" | tr '\n' ' ')(log: $H/log/init.log)"; return 1; }
            (( $(now) > deadline )) && { fail "init did not start; log: $H/log/init.log"; return 1; }
            sleep 0.02
        done
    fi
    # ask init to start whatever daemon is missing (they must be its descendants)
    local tok res=() 
    tok="$$-$(now)"
    printf '%s\n' "$tok" > "$H/ctl.req"
    kill -USR1 "$pid" || { fail "cannot signal init $pid"; return 1; }
    until { mapfile -t res < "$H/ctl.res"; } 2>/dev/null && [[ ${res[0]:-} == "$tok" ]]; do
        (( $(now) > deadline )) && { fail "init $pid did not start the daemons; log: $H/log/init.log"; return 1; }
        sleep 0.02
    done
    [[ ${res[1]:-} == ok ]] || { fail "${res[1]:-daemon start failed}; logs: $H/log/"; return 1; }
    if sub=$(guest_subnet "$i"); then
        ip route replace "$sub" via "$addr" dev "$BRIDGE" || { fail "cannot add route $sub"; return 1; }
    fi
    dbg "vfh$i: daemons started"
    # readiness: sshd banner, then libvirtd answering inside the host; a daemon that is
    # gone 3 s after its start fails at once
    started=$(now)
    until [[ -s $H/fs/run/sshd.pid ]] && sshd_answers "$addr"; do
        (( $(now) > deadline )) && { fail "sshd not answering on $addr:22 after ${TIMEOUT}s; log: $H/log/sshd.log"; return 1; }
        (( $(now) > started + 3000000 )) && ! host_daemon_alive "$i" /run/sshd.pid sshd &&
            { fail "sshd died; log: $H/log/sshd.log"; return 1; }
        sleep 0.05
    done
    until [[ -S $H/fs/run/libvirt/libvirt-sock ]]; do
        (( $(now) > deadline )) && { fail "libvirtd socket missing after ${TIMEOUT}s; log: $H/log/libvirtd.log"; return 1; }
        (( $(now) > started + 3000000 )) && ! host_daemon_alive "$i" /run/libvirtd.pid libvirtd &&
            { fail "libvirtd died; log: $H/log/libvirtd.log"; return 1; }
        sleep 0.05
    done
    until out=$(hexec "$i" timeout 10 virsh -c qemu:///system uri 2>&1 9>&-) && [[ $out == qemu:///system* ]]; do
        (( $(now) > deadline )) && { fail "libvirtd not answering 'virsh uri' after ${TIMEOUT}s ($out); log: $H/log/libvirtd.log"; return 1; }
        sleep 0.1
    done
    dbg "vfh$i: libvirtd answers"
    local warm=
    if (( i == 1 )); then warm_capabilities "$i" & warm=$!; fi
    out=$(hexec "$i" /bin/bash "$SELF" __net "$i" </dev/null 2>&1 9>&-) ||
        { fail "guest network: ${out:-failed}; log: $H/log/libvirtd.log"; return 1; }
    [[ -n $out ]] && log "$out"
    dbg "vfh$i: network ready"
    [[ -n $warm ]] && wait "$warm"
    return 0
}

# ---------------------------------------------------------------- shared client files
write_etc_hosts() {     # max index
    local n=$1 i f=$STATE/etc-hosts
    {
        printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
        printf '%s\tvflab-admin\n' "$ADMIN_IP"
        for ((i = 1; i <= n; i++)); do printf '%s\tvfh%d\n' "$(haddr "$i")" "$i"; done
    } > "$f.new" || return 1
    if [[ -f $f ]]; then cat "$f.new" > "$f"; rm -f "$f.new"   # keep the inode: it is bind-mounted
    else mv -f "$f.new" "$f"; fi
}

write_client_files() {
    local i H key kt kb _ hosts
    hosts=$(existing_hosts)
    {
        printf '# VirtFleet lab known hosts - generated by vflab.sh\n'
        for i in $hosts; do
            H=$(hdir "$i")
            read -r kt kb _ 2>/dev/null < "$H/ssh/ssh_host_ed25519_key.pub" || continue
            printf '%s %s %s\n' "$(haddr "$i")" "$kt" "$kb"
            printf 'vfh%d %s %s\n' "$i" "$kt" "$kb"
        done
    } > "$STATE/known_hosts.new" && mv -f "$STATE/known_hosts.new" "$STATE/known_hosts"
    {
        printf '# VirtFleet lab - generated by vflab.sh. Use: ssh -F %s vfh1\n' "$STATE/ssh_config"
        for i in $hosts; do printf 'Host vfh%d\n    HostName %s\n' "$i" "$(haddr "$i")"; done
        cat <<EOF
Host vfh* $ADMIN_PREFIX.*
    User root
    IdentityFile $STATE/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $STATE/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    UpdateHostKeys no
    BatchMode yes
    ConnectTimeout 10
    ServerAliveInterval 15
    LogLevel ERROR
EOF
    } > "$STATE/ssh_config.new" && mv -f "$STATE/ssh_config.new" "$STATE/ssh_config"
    {
        printf '# VirtFleet lab Ansible inventory - generated by vflab.sh\n[vflab]\n'
        for i in $hosts; do printf 'vfh%d ansible_host=%s\n' "$i" "$(haddr "$i")"; done
        printf '\n[vflab:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n' "$STATE/id_ed25519"
        printf "ansible_ssh_common_args='-F %s'\nansible_python_interpreter=/usr/bin/python3\n" "$STATE/ssh_config"
    } > "$STATE/inventory.ini.new" && mv -f "$STATE/inventory.ini.new" "$STATE/inventory.ini"
}

# ---------------------------------------------------------------- commands
preflight() {
    (( EUID == 0 )) || die "must run as root"
    local c missing=
    for c in perl ip nsenter unshare setsid flock ssh-keygen virsh libvirtd virtlogd dnsmasq mount umount stat grep timeout; do
        command -v "$c" >/dev/null || missing+=" $c"
    done
    [[ -x /usr/sbin/sshd ]] || missing+=" /usr/sbin/sshd"
    [[ -z $missing ]] || die "missing commands:$missing (Debian packages: iproute2 util-linux perl-base openssh-server openssh-client libvirt-daemon-system libvirt-clients qemu-system-x86 dnsmasq-base)"
}

ensure_state_dir() {
    if [[ -d $STATE && ! -e $STATE/.virtfleet-lab ]] && [[ -n $(ls -A "$STATE" 2>/dev/null) ]]; then
        die "$STATE exists, is not empty and is not a VirtFleet lab state dir"
    fi
    mkdir -p "$STATE/hosts" "$STATE/cache" || die "cannot create $STATE"
    chmod 0700 "$STATE"
    printf 'VirtFleet lab state; remove with: %s down\n' "$SELF" > "$STATE/.virtfleet-lab"
    if [[ ! -s $STATE/id_ed25519 || ! -s $STATE/id_ed25519.pub ]]; then
        rm -f "$STATE/id_ed25519" "$STATE/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N '' -C virtfleet-lab -f "$STATE/id_ed25519" || die "ssh-keygen failed"
    fi
    cp -f "$STATE/id_ed25519.pub" "$STATE/authorized_keys.new" && mv -f "$STATE/authorized_keys.new" "$STATE/authorized_keys"
}

seed_capability_cache() {   # keep a copy of the first non-empty qemu capability cache
    local i c S=$STATE/cache/qemu-capabilities
    [[ -n $(ls -A "$S" 2>/dev/null) ]] && return 0
    for i in $(existing_hosts); do
        c=$(hdir "$i")/fs/var-cache-libvirt/qemu/capabilities
        if [[ -n $(ls -A "$c" 2>/dev/null) ]]; then
            rm -rf "$S.new" && cp -a "$c" "$S.new" && mv -f "$S.new" "$S"
            return 0
        fi
    done
    return 1
}
distribute_capability_cache() {   # n : give hosts 1..n the seed if they have no cache yet
    local i c S=$STATE/cache/qemu-capabilities
    seed_capability_cache || return 0
    for ((i = 1; i <= $1; i++)); do
        c=$(hdir "$i")/fs/var-cache-libvirt/qemu/capabilities
        [[ -n $(ls -A "$c" 2>/dev/null) ]] && continue
        mkdir -p "$c" && cp -a "$S/." "$c/"
    done
}
# Host 1 only: make libvirt probe qemu once so its cache can seed the other hosts.
warm_capabilities() {
    local i=$1 t0
    [[ -n $(ls -A "$STATE/cache/qemu-capabilities" 2>/dev/null) ]] && return 0
    [[ -n $(ls -A "$(hdir "$i")/fs/var-cache-libvirt/qemu/capabilities" 2>/dev/null) ]] && return 0
    t0=$(now)
    if hexec "$i" timeout 180 virsh -q -c qemu:///system capabilities >/dev/null 2>&1 9>&-; then
        log "vfh$i: qemu capabilities probed in $(elapsed "$t0")s (cached for all hosts)"
    else
        log "warning: vfh$i: probing qemu capabilities failed; hosts will probe on first use"
    fi
    return 0
}

cmd_up() {
    local n=${1:-}
    [[ $n =~ ^[1-9][0-9]*$ ]] && (( n <= MAX_HOSTS )) || { log "up needs a host count 1..$MAX_HOSTS"; usage 2; }
    preflight
    take_lock
    local t0 line i max failed=0 todo=() pids=()
    t0=$(now)
    if line=$(root_conflict "$ADMIN_PREFIX.0/24"); then
        die "$ADMIN_PREFIX.0/24 is already used in the root namespace ($line)"
    fi
    choose_guest_net
    ensure_state_dir
    save_guest_net
    choose_guest_blocks
    max=$n
    for i in $(existing_hosts); do (( i > max )) && max=$i; done
    write_etc_hosts "$max" || die "cannot write $STATE/etc-hosts"
    ensure_bridge
    ensure_fw
    # libvirt probes qemu lazily (first capabilities/domain call, ~8 s of CPU per host).
    # Host 1 probes once while the others boot; its cache is then copied to every host.
    seed_capability_cache
    # At most VFLAB_PARALLEL hosts come up at once (a window, oldest first): 112 at once on 2 CPUs starved each other
    # past their timeout. Each host's timeout counts from its own start.
    for ((i = 1; i <= n; i++)); do
        if (( ${#pids[@]} >= PARALLEL )); then
            wait "${pids[0]}" || failed=$((failed + 1))
            pids=("${pids[@]:1}")
        fi
        host_up "$i" 9>&- &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
    distribute_capability_cache "$n"
    write_client_files
    if (( failed )); then
        log "up $n failed: $failed host(s) not ready (details above)"
        exit 1
    fi
    log "$n host(s) ready in $(elapsed "$t0")s"
    cmd_status
}

cmd_shrink() {
    local n=${1:-} i t0 gone=0 addr sub kw via _
    [[ $n =~ ^[1-9][0-9]*$ ]] && (( n <= MAX_HOSTS )) || { log "shrink needs a host count 1..$MAX_HOSTS"; usage 2; }
    preflight
    take_lock
    t0=$(now)
    for i in $(existing_hosts); do
        (( i > n )) || continue
        addr=$(haddr "$i")
        host_teardown "$i"
        while read -r sub kw via _; do
            [[ $kw == via && $via == "$addr" ]] && ip -4 route del "$sub" via "$addr" dev "$BRIDGE" 2>/dev/null
        done < <(ip -4 route show dev "$BRIDGE" 2>/dev/null)
        rm -rf --one-file-system -- "$(hdir "$i")" || die "cannot remove $(hdir "$i")"
        gone=$((gone + 1))
    done
    write_etc_hosts "$n" || die "cannot write $STATE/etc-hosts"
    write_client_files
    log "shrink $n: $gone host(s) removed in $(elapsed "$t0")s"
}

cmd_down() {
    preflight
    take_lock
    local t0 nss=() n
    t0=$(now)
    for n in /run/netns/vflab-h*; do [[ -e $n ]] && nss+=("${n##*/}"); done
    kill_lab "$MARK_RE|$(state_re '[0-9]+')" "${nss[@]}"
    # root-side veths (also strays whose netns is gone), then the namespaces
    {
        while read -r _ n _; do
            n=${n%:}; n=${n%%@*}
            [[ $n =~ ^vflab-h[0-9]+$ ]] && printf 'link del %s\n' "$n"
        done < <(ip -o link show 2>/dev/null)
        for n in "${nss[@]}"; do printf 'netns del %s\n' "$n"; done
    } | ip -force -batch - >/dev/null 2>&1
    if [[ -e /sys/class/net/$BRIDGE ]]; then
        ip -4 route flush dev "$BRIDGE" 2>/dev/null
        ip link del "$BRIDGE" || die "cannot delete bridge $BRIDGE"
    fi
    remove_fw
    if [[ -d $STATE ]]; then
        if [[ -e $STATE/.virtfleet-lab || -z $(ls -A "$STATE" 2>/dev/null) ]]; then
            rm -rf --one-file-system -- "$STATE" || die "cannot remove $STATE"
        else
            log "not removing $STATE: it is not a VirtFleet lab state dir"
        fi
    fi
    log "lab removed in $(elapsed "$t0")s"
}

cmd_status() {
    local i H pid running sub first=1 gnet=null
    load_guest_base
    [[ -n $GUEST_BASE ]] && gnet=$(json_str "$GUEST_BASE.0/24")
    printf '{"stateDir":%s,"bridge":%s,"adminAddress":%s,"guestNetwork":%s,"keyFile":%s,"knownHosts":%s,"sshConfig":%s,"inventory":%s,"hosts":[' \
        "$(json_str "$STATE")" "$(json_str "$BRIDGE")" "$(json_str "$ADMIN_IP")" "$gnet" \
        "$(json_str "$STATE/id_ed25519")" "$(json_str "$STATE/known_hosts")" \
        "$(json_str "$STATE/ssh_config")" "$(json_str "$STATE/inventory.ini")"
    for i in $(existing_hosts); do
        H=$(hdir "$i") running=false pid=0
        if pid=$(init_pid "$i"); then
            host_daemon_alive "$i" /run/sshd.pid sshd &&
            host_daemon_alive "$i" /run/libvirtd.pid libvirtd &&
            running=true
        else
            pid=0
        fi
        if sub=$(guest_subnet "$i"); then sub=$(json_str "$sub"); else sub=null; fi
        (( first )) || printf ','
        first=0
        printf '{"name":"vfh%d","address":"%s","netns":"%s","pid":%s,"running":%s,"guestSubnet":%s}' \
            "$i" "$(haddr "$i")" "$(hns "$i")" "$pid" "$running" "$sub"
    done
    printf ']}\n'
}

# The host's init and its daemons live long: they must not keep a caller's descriptors open (a caller's flock
# held by every libvirtd of the lab blocks that caller's next run for good). Bash's own script fd (255) stays.
close_inherited_fds() {
    local fd
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        (( fd > 2 && fd != 255 )) && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

main() {
    local cmd=${1:-help}
    shift || true
    case $cmd in
        up)      validate_state_dir; cmd_up "$@" ;;
        down)    (( $# == 0 )) || usage 2; validate_state_dir; cmd_down ;;
        shrink)  (( $# == 1 )) || usage 2; validate_state_dir; cmd_shrink "$1" ;;
        status)  (( $# == 0 )) || usage 2; validate_state_dir; cmd_status ;;
        __init)    close_inherited_fds; validate_state_dir; cmd_init "$1" ;;   # $2 = marker, only for ps
        __net)     validate_state_dir; cmd_net "$1" ;;
        help|-h|--help) usage 0 ;;
        *) log "unknown command: $cmd"; usage 2 ;;
    esac
}

# (sourcing the file only defines the functions, for tests)
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; exit $?; fi
