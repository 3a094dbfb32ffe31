# shellcheck disable=SC2154 # vf_lockdir, vf_mode, vf_wait and vf_bound are bound by HostLock.Wrap
# The host lock around a round trip that changes a host (HostLock.Wrap). HostLock binds before this text:
#   vf_lockdir  the root-only folder of the lock (/run/virtfleet: never a world-writable lock folder)
#   vf_mode     -x (a change) or -s (a read that must not see a change half made)
#   vf_wait     the longest wait for another run's lock, in seconds
#   vf_bound    the bound of the whole on this host (the wait included), in seconds
# and puts the round trip's text in place of the here-document's one line, with a delimiter of its own. The body runs
# under timeout(1) in its own process group, without the lock's descriptor: only this waiting prelude holds the lock,
# so a client that gave up (or a dropped connection) never leaves it held past the bound. The body is read from
# descriptor 3 (not an argument: a create's script can pass the 128 KiB limit of one); its standard input and
# arguments are the caller's. Exit codes: 77 not root, 75 the lock stayed held, 124 the body ran past the bound.
# vf_now sets vf_up to the seconds since boot, read by builtins: every round trip that changes a host passes here, and
# it starts no process for the clock.
vf_now() { read -r vf_up _ < /proc/uptime; vf_up=${vf_up%.*}; }
vf_now; vf_t0=$vf_up
if [ "$(id -u)" != 0 ] || ! install -d -m 0700 -o 0 -g 0 "$vf_lockdir" || [ "$(stat -c %u:%a "$vf_lockdir")" != 0:700 ]; then
  echo "VirtFleet cannot make $vf_lockdir root-only for the host lock: it changes a host as root (log in as root, or set sudo for this host)" >&2
  exit 77
fi
exec 9>>"$vf_lockdir/host.lock" || exit 1
flock "$vf_mode" -w "$vf_wait" 9 || { echo "another VirtFleet run held the host lock for $vf_wait s; nothing was changed" >&2; exit 75; }
vf_now; vf_left=$((vf_bound - vf_up + vf_t0)); [ "$vf_left" -gt 0 ] || vf_left=1
timeout -k 5 "$vf_left" sh /dev/fd/3 "$@" 9>&- 3<<'@@VF-LOCKED-BODY@@'
@@VF-BODY@@
@@VF-LOCKED-BODY@@
vf_rc=$?
vf_now
if [ "$vf_rc" -eq 124 ] || { [ "$vf_rc" -eq 137 ] && [ $((vf_up - vf_t0)) -ge "$vf_bound" ]; }; then
  echo "the script ran past its bound of $vf_bound s on this host and was stopped; the host lock is free again" >&2
  exit 124
fi
exit "$vf_rc"
