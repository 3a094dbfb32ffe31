#!/usr/bin/env bash
# lab-smoke.sh - smoke test of the VirtFleet lab fleet (lab/vflab.sh). Needs root.
#
# DESTROYS any running lab first (vflab.sh down), then checks:
#   up 3: ssh with the lab's ssh_config and strict host key checking reaches every host and
#   its libvirtd ("virsh -c qemu:///system uri"); each host has the "vflab" network active
#   with its own dnsmasq, no "default" network, only lab addresses; the admin side reaches
#   each guest subnet; status prints valid JSON; up 3 again changes nothing; a killed sshd
#   and a killed host are repaired by up; up 5 adds two hosts; down leaves no namespace,
#   link, route, process, state dir, and root iptables exactly as before.
#
# Env: VFLAB_STATE_DIR (as vflab.sh), VFLAB_SMOKE_MAX=N (also time "up N", N <= 64, and
#      report memory), VFLAB_SMOKE_KEEP=1 (leave the lab up when a check failed).
# Prints "N passed, M failed"; exits 1 when a check failed.

set -o nounset -o pipefail
export LC_ALL=C
HERE=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
VFLAB=${VFLAB:-$HERE/../../lab/vflab.sh}
STATE=${VFLAB_STATE_DIR:-/var/lib/virtfleet-lab}
export VFLAB_STATE_DIR=$STATE
TMP=$(mktemp -d /tmp/vflab-smoke.XXXXXX) || exit 1
pass=0 fail=0

ok()    { printf 'ok   - %s\n' "$*"; pass=$((pass + 1)); }
bad()   { printf 'FAIL - %s\n' "$*"; fail=$((fail + 1)); }
check() {
    local d=$1; shift
    if "$@" >"$TMP/out" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/       /' "$TMP/out" | tail -15; fi
}
note()  { printf '# %s\n' "$*"; }
now()   { printf '%s' "${EPOCHREALTIME/./}"; }
secs()  { local t=$(( $(now) - $1 )); printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000)); }
finish() {
    local rc=$?
    if (( fail )) && [[ ${VFLAB_SMOKE_KEEP:-} == 1 ]]; then note "keeping the lab for inspection"
    else "$VFLAB" down >/dev/null 2>&1; fi
    ip netns del "$GUEST_NS" 2>/dev/null
    rm -rf "$TMP"
    printf '%d passed, %d failed\n' "$pass" "$fail"
    (( fail == 0 && rc == 0 )) || exit 1
    exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

(( EUID == 0 )) || { bad "must run as root"; exit 1; }
[[ -x $VFLAB ]] || { bad "no $VFLAB"; exit 1; }

SSH=(ssh -F "$STATE/ssh_config" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10)
addr() { printf '198.51.100.%d' $((10 + $1)); }
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

root_snapshot() {   # what the lab must leave as it found it
    iptables-save 2>/dev/null | grep -v '^#' > "$1.ipt"
    ip -4 route show table all | grep -v -E '^(local|broadcast) ' > "$1.route"
}
lab_netns_ids() { local n; for n in /run/netns/vflab-h*; do [[ -e $n ]] && stat -L -c %i "$n"; done; return 0; }
procs_in_netns() {  # processes (not zombies) in any netns whose inode is listed in file $1
    local f id p st
    [[ -s $1 ]] || return 0
    stat -L -c '%n %i' /proc/[0-9]*/ns/net 2>/dev/null | while read -r f id; do
        grep -qx "$id" "$1" || continue
        p=${f#/proc/}; p=${p%%/*}
        read -r _ _ st _ 2>/dev/null < "/proc/$p/stat" || continue
        [[ $st == Z ]] || printf '%s %s\n' "$p" "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
    done
}
lab_cmdline_procs() {
    local f p st
    grep -l -a -s -E "vflab-ini[t]:|${STATE//./\\.}/host[s]/|/var/lib/libvirt/dnsmasq/vfla[b]\.conf" /proc/[0-9]*/cmdline 2>/dev/null |
    while read -r f; do
        p=${f#/proc/}; p=${p%%/*}
        read -r _ _ st _ 2>/dev/null < "/proc/$p/stat" || continue
        [[ $st == Z ]] || printf '%s %s\n' "$p" "$(tr '\0' ' ' < "$f" 2>/dev/null | cut -c1-100)"
    done
}

# ------------------------------------------------------------------ checks
t_status_empty() {
    "$VFLAB" status > "$TMP/s0.json" &&
    python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["hosts"] == []' "$TMP/s0.json"
}
t_up()       { "$VFLAB" up "$1" > "$2"; }
t_uri()      { [[ $("${SSH[@]}" "$1" virsh -c qemu:///system uri) == qemu:///system ]]; }
t_hostname() { [[ $("${SSH[@]}" "$1" hostname) == "$1" ]]; }
t_nets() {
    local out
    out=$("${SSH[@]}" "$1" virsh -q net-list --all) || return 1
    echo "$out"
    [[ $(awk '$1 == "vflab" {print $2, $3}' <<<"$out") == "active yes" ]] && ! grep -qw default <<<"$out"
}
t_dnsmasq() {
    "${SSH[@]}" "$1" 'p=$(cat /run/libvirt/network/vflab.pid) && [ "$(cat /proc/$p/comm)" = dnsmasq ] && grep -q vflab.conf /proc/$p/cmdline'
}
t_addrs() {
    local out
    out=$("${SSH[@]}" "$1" 'ip -4 -o addr show; cat /proc/sys/net/ipv4/ip_forward; ip -6 -o addr show | wc -l') || return 1
    echo "$out"
    grep -oE 'inet [0-9.]+' <<<"$out" | grep -vqE 'inet (127\.|198\.51\.100\.|192\.0\.2\.|203\.0\.113\.)' && return 1
    [[ $(tail -2 <<<"$out" | tr '\n' ' ') == "1 0 " ]]
}
t_guest_route() {   # subnet gateway host-address
    ip route show "$1" | grep -q "via $3 dev vflab0" && timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/53"' "$2"
}
t_wrong_known_hosts() { ! ssh -F "$STATE/ssh_config" -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes vfh1 true; }
t_host_to_host()      { [[ $("${SSH[@]}" vfh1 ssh vfh3 hostname) == vfh3 ]]; }
t_daemon_count() {  # n : each daemon n times in lab namespaces (dnsmasq, sshd: listeners only)
    local c p n id pp
    for c in dnsmasq libvirtd virtlogd sshd; do
        n=0
        for p in $(pgrep -x "$c"); do
            id=$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) && grep -qx "$id" "$TMP/netns.ids" || continue
            pp=$(ps -o ppid= -p "$p" | tr -d ' ')
            [[ $(cat "/proc/$pp/comm" 2>/dev/null) == "$c" ]] && continue
            n=$((n + 1))
        done
        echo "$c: $n"
        (( n == $1 )) || return 1
    done
}
pids_of() {
    local i
    for i in "$@"; do
        cat "$STATE/hosts/vfh$i/init.pid" "$STATE"/hosts/vfh"$i"/fs/run/{virtlogd,libvirtd,sshd}.pid \
            "$STATE/hosts/vfh$i/fs/run/libvirt/network/vflab.pid" 2>/dev/null | tr -s '\n' ' '
        echo
    done
}
t_same() { [[ $1 == "$2" ]] || { echo "before: $1"; echo "after:  $2"; return 1; }; }
t_not_running() {
    "$VFLAB" status |
    python3 -c 'import json,sys; h=json.load(sys.stdin)["hosts"][int(sys.argv[1])-1]; assert h["running"] is False, h' "$1"
}
t_repaired() {
    python3 -c '
import json, sys
hs = json.load(open(sys.argv[1]))["hosts"]
assert all(h["running"] for h in hs), hs
assert hs[1]["pid"] == int(sys.argv[2]), hs[1]' "$1" "$2"
}
t_up5() {
    python3 -c '
import json, sys
hs = json.load(open(sys.argv[1]))["hosts"]; old = json.load(open(sys.argv[2]))["hosts"]
assert [h["name"] for h in hs] == ["vfh%d" % i for i in range(1, 6)], hs
assert all(h["running"] for h in hs), hs
assert [h["pid"] for h in hs[:3]] == [h["pid"] for h in old], (hs, old)' "$1" "$2"
}
t_new_host() {
    local out
    out=$("${SSH[@]}" "$1" 'virsh -q uri; virsh -q net-list --name') || return 1
    echo "$out"
    grep -qx 'qemu:///system' <<<"$out" && grep -qx vflab <<<"$out"
}
t_new_hosts_known() {
    grep -q '^198.51.100.15 ssh-ed25519 ' "$STATE/known_hosts" &&
    [[ $("${SSH[@]}" vfh1 getent hosts vfh5) == 198.51.100.15* ]]
}
t_up_keeps_more() {
    "$VFLAB" up 3 |
    python3 -c 'import json,sys; hs=json.load(sys.stdin)["hosts"]; assert len(hs) == 5 and all(h["running"] for h in hs), hs'
}
t_all_running() {
    python3 -c 'import json,sys; hs=json.load(open(sys.argv[1]))["hosts"]; assert len(hs) == int(sys.argv[2]) and all(h["running"] for h in hs), [h for h in hs if not h["running"]]' "$1" "$2"
}
t_status_json() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); st = sys.argv[2]
assert d["stateDir"] == st and d["bridge"] == "vflab0" and d["adminAddress"] == "198.51.100.1", d
for k, v in (("keyFile", "id_ed25519"), ("knownHosts", "known_hosts"), ("sshConfig", "ssh_config"), ("inventory", "inventory.ini")):
    assert d[k] == st + "/" + v, (k, d[k])
hs = d["hosts"]
assert [h["name"] for h in hs] == ["vfh1", "vfh2", "vfh3"], hs
g = d["guestNetwork"]; assert g in ("192.0.2.0/24", "203.0.113.0/24"), g
base = g.split("/")[0].rsplit(".", 1)[0]
for i, h in enumerate(hs, 1):
    assert h["address"] == "198.51.100.%d" % (10 + i) and h["netns"] == "vflab-h%d" % i, h
    assert isinstance(h["pid"], int) and h["pid"] > 0 and h["running"] is True, h
    assert h["guestSubnet"] == "%s.%d/28" % (base, 16 * (i - 1)), h' "$1" "$STATE"
}
t_no_lab_procs() {
    local out
    for _ in $(seq 50); do   # the machine's PID 1 may take a moment to reap
        out=$(procs_in_netns "$TMP/netns.ids"; lab_cmdline_procs)
        [[ -z $out ]] && return 0
        sleep 0.1
    done
    echo "$out"; return 1
}
t_no_netns() { ! ip netns list | grep -q '^vflab-'; }
t_no_links() { ! ip -o link show | grep -qE '^[0-9]+: vflab'; }
# A stand-in guest: a netns with a veth on vfh<i>'s vfbr0 asks the host's dnsmasq for a
# lease (busybox udhcpc), then the admin side connects to it through the lab route.
GUEST_NS=vflab-smoke-guest
t_guest_dhcp() {
    local i=$1 pid ga
    pid=$(cat "$STATE/hosts/vfh$i/init.pid") || return 1
    ip netns del "$GUEST_NS" 2>/dev/null
    ip netns add "$GUEST_NS" || return 1
    nsenter -t "$pid" -n sh -c "ip link add vfsg0 type veth peer name vfsg1 && ip link set vfsg0 master vfbr0 up && ip link set vfsg1 netns $GUEST_NS" || return 1
    ip -n "$GUEST_NS" link set lo up && ip -n "$GUEST_NS" link set vfsg1 up || return 1
    printf '#!/bin/sh\ncase "$1" in bound|renew) ip addr add "$ip/$mask" dev "$interface"; ip route add default via "$router";; esac\n' > "$TMP/udhcpc.sh"
    chmod +x "$TMP/udhcpc.sh"
    ip netns exec "$GUEST_NS" timeout 30 busybox udhcpc -i vfsg1 -n -q -t 10 -T 2 -s "$TMP/udhcpc.sh" || return 1
    ga=$(ip -n "$GUEST_NS" -4 -o addr show vfsg1 | grep -oE 'inet [0-9.]+' | cut -d' ' -f2)
    echo "lease: $ga"
    [[ $ga == "$2".* ]] || return 1
    ip netns exec "$GUEST_NS" timeout 10 busybox nc -l -p 8080 -e echo hello-from-guest &
    sleep 0.3
    [[ $(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/8080"; head -1 <&3' "$ga") == hello-from-guest ]]
}
t_status_after_down() { "$VFLAB" status | python3 -c 'import json,sys; assert json.load(sys.stdin)["hosts"] == []'; }

# ------------------------------------------------------------------ clean start
note "vflab.sh: $VFLAB, state: $STATE"
check "down on whatever was there" "$VFLAB" down
root_snapshot "$TMP/before"
check "status without a lab is valid JSON with no hosts" t_status_empty

# ------------------------------------------------------------------ up 3
t=$(now)
check "up 3" t_up 3 "$TMP/up3.json"
note "up 3 (cold) took $(secs "$t") s"
check "up 3 printed valid JSON" python3 -m json.tool "$TMP/up3.json"
"$VFLAB" status > "$TMP/s3.json"
check "status is valid JSON (python3 -m json.tool)" python3 -m json.tool "$TMP/s3.json"
check "status: 3 hosts, all running, fields as specified" t_status_json "$TMP/s3.json"
lab_netns_ids > "$TMP/netns.ids"
for i in 1 2 3; do
    check "vfh$i: ssh root@$(addr $i) (strict host key) virsh -c qemu:///system uri" t_uri "root@$(addr $i)"
    check "vfh$i: hostname vfh$i, reachable by name through ssh_config" t_hostname "vfh$i"
    check "vfh$i: network vflab active + autostart, no default network" t_nets "vfh$i"
    check "vfh$i: its dnsmasq runs" t_dnsmasq "vfh$i"
    check "vfh$i: only lab addresses, no IPv6, ip_forward on" t_addrs "vfh$i"
    sub=$(json_field "$TMP/s3.json" "d['hosts'][$((i - 1))]['guestSubnet']")
    gw=${sub%/28}; gw=${gw%.*}.$(( ${gw##*.} + 1 ))
    check "admin side reaches vfh$i's guest subnet ($gw:53, route $sub)" t_guest_route "$sub" "$gw" "$(addr $i)"
done
if command -v busybox >/dev/null; then
    sub=$(json_field "$TMP/s3.json" "d['hosts'][0]['guestSubnet']")
    check "a stand-in guest on vfh1 gets a DHCP lease in $sub and the admin side reaches it" t_guest_dhcp 1 "${sub%.*}"
    ip netns del "$GUEST_NS" 2>/dev/null
else
    note "busybox not installed: skipping the stand-in guest DHCP check"
fi
check "a wrong known_hosts is refused (strict checking applies)" t_wrong_known_hosts
check "hosts reach each other by name with strict host keys (vfh1 -> vfh3)" t_host_to_host
check "one dnsmasq, libvirtd, virtlogd, sshd per host" t_daemon_count 3

# ------------------------------------------------------------------ idempotence and repair
before=$(pids_of 1 2 3)
t=$(now)
check "up 3 again" t_up 3 /dev/null
note "up 3 (no-op) took $(secs "$t") s"
check "up 3 again is a no-op (same init and daemon PIDs)" t_same "$before" "$(pids_of 1 2 3)"

p2=$(cat "$STATE/hosts/vfh2/init.pid")
nsenter -t "$p2" -m -n sh -c 'kill $(cat /run/sshd.pid)'
sleep 0.2
check "status shows vfh2 not running after its sshd was killed" t_not_running 2
kill -9 "$(cat "$STATE/hosts/vfh3/init.pid")"
sleep 0.2
t=$(now)
check "up 3 repairs vfh2 (sshd) and vfh3 (init killed)" t_up 3 "$TMP/s3b.json"
note "repairing up 3 took $(secs "$t") s"
check "after repair: all running, vfh2 kept its init" t_repaired "$TMP/s3b.json" "$p2"
for i in 2 3; do check "vfh$i answers again on ssh + virsh" t_uri "vfh$i"; done
lab_netns_ids >> "$TMP/netns.ids"

# ------------------------------------------------------------------ up 5
t=$(now)
check "up 5" t_up 5 "$TMP/s5.json"
note "up 5 (adds two) took $(secs "$t") s"
check "up 5: 5 hosts running, hosts 1-3 kept their init" t_up5 "$TMP/s5.json" "$TMP/s3b.json"
for i in 4 5; do check "vfh$i: ssh + virsh uri + vflab active" t_new_host "root@$(addr $i)"; done
check "known_hosts and the old hosts' /etc/hosts know the new ones" t_new_hosts_known
check "up 3 with 5 hosts leaves all 5" t_up_keeps_more
lab_netns_ids >> "$TMP/netns.ids"

# ------------------------------------------------------------------ optional: bigger lab
if [[ -n ${VFLAB_SMOKE_MAX:-} ]]; then
    t=$(now)
    check "up $VFLAB_SMOKE_MAX" t_up "$VFLAB_SMOKE_MAX" "$TMP/sbig.json"
    note "up $VFLAB_SMOKE_MAX (from 5) took $(secs "$t") s"
    check "all $VFLAB_SMOKE_MAX running" t_all_running "$TMP/sbig.json" "$VFLAB_SMOKE_MAX"
    check "vfh$VFLAB_SMOKE_MAX answers on ssh + virsh" t_uri "vfh$VFLAB_SMOKE_MAX"
    note "memory with $VFLAB_SMOKE_MAX hosts: $(free -m | awk '/^Mem:/{print "used " $3 " MiB, available " $7 " MiB"}')"
    lab_netns_ids >> "$TMP/netns.ids"
fi

# ------------------------------------------------------------------ down
t=$(now)
check "down" "$VFLAB" down
note "down took $(secs "$t") s"
check "down again (idempotent)" "$VFLAB" down
check "no vflab netns left" t_no_netns
check "no vflab links left" t_no_links
check "no lab process left (by namespace and by command line)" t_no_lab_procs
check "state dir removed" test ! -e "$STATE"
root_snapshot "$TMP/after"
check "root routes as before" diff "$TMP/before.route" "$TMP/after.route"
check "root iptables-save as before" diff "$TMP/before.ipt" "$TMP/after.ipt"
check "status after down: valid JSON, no hosts" t_status_after_down
