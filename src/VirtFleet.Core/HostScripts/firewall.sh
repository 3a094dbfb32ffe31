# VirtFleet's filter chains on this host (HostFirewall): apply, remove or check, for IPv4 or IPv6. Bound:
#   fam   ip (iptables) or ip6 (ip6tables; a kernel without IPv6 has nothing to filter: it does nothing)
#   mode  apply (the plan's iptables-restore body on standard input), remove, or check (prints what
#         FirewallStatus.Compare needs; changes nothing)
# Apply and remove run under the host lock (check takes it shared). Apply is one iptables-restore --noflush transaction
# of the filter table (atomic): declaring a chain flushes and rewrites it, so only our chains change; in the same
# transaction the jump FORWARD -> VF-FORWARD is made the first rule of FORWARD exactly once. Then a second transaction
# deletes chains of ours the plan no longer declares, unless a rule that is not ours still jumps to one: each such chain
# is a line "@@VF-KEPT-$VF_NONCE@@ CHAIN", each deleted one "@@VF-REMOVED-$VF_NONCE@@ CHAIN". Exit 69: no iptables.
set -f
# shellcheck disable=SC2154 # fam and mode are bound by HostScript.Set
if [ "$fam" = ip6 ] && [ "$mode" != check ]; then [ -e /proc/net/if_inet6 ] || exit 0; fi
save="${fam}tables-save" restore="${fam}tables-restore"
for t in "$save" "$restore"; do
  command -v "$t" >/dev/null 2>&1 || { echo "$t is not installed on this host" >&2; exit 69; }
done
J='-A FORWARD -j VF-FORWARD'
live=$("$save" -t filter) || exit 1
n=$(printf '%s\n' "$live" | grep -cxF -e "$J")
vf_ours() { printf '%s\n' "$1" | sed -n -e 's/^:\(VF-FORWARD\) .*/\1/p' -e 's/^:\(VF-I-[A-Za-z0-9_-]*\) .*/\1/p'; }
vf_unjump() { i=0; while [ "$i" -lt "$n" ]; do echo '-D FORWARD -j VF-FORWARD'; i=$((i+1)); done; }
vf_restore() { "$restore" -w --noflush || { echo "$restore failed ($1); the filter table is as it was" >&2; exit 1; }; }

case "$mode" in
  check)
    printf '%s\n' "$live" | grep -E '^(:VF-|-A VF-|-A FORWARD )'
    echo "@@VF-BRIDGE-NF@@ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)"
    vf_ip6_lines
    exit 0 ;;
  apply)
    plan=$(cat) || exit 1
    first=$(printf '%s\n' "$live" | grep -m1 '^-A FORWARD ')
    {
      echo '*filter'
      printf '%s\n' "$plan"
      if [ "$first" != "$J" ] || [ "$n" -ne 1 ]; then vf_unjump; echo '-I FORWARD 1 -j VF-FORWARD'; fi
      echo COMMIT
    } | vf_restore 'writing our chains' || exit 1 ;;
  remove)
    plan=''
    chains=$(vf_ours "$live")
    if [ "$n" -gt 0 ] || [ -n "$chains" ]; then
      { echo '*filter'; vf_unjump; for c in $chains; do echo "-F $c"; done; echo COMMIT; } | vf_restore 'emptying our chains' || exit 1
    fi ;;
  *) echo "unknown firewall mode $mode" >&2; exit 2 ;;
esac

# Chains of ours the plan does not declare: deleted when nothing jumps to them any more.
live=$("$save" -t filter) || exit 1
stale=''
for c in $(vf_ours "$live"); do
  printf '%s\n' "$plan" | grep -qxF -e ":$c - [0:0]" && continue
  if printf '%s\n' "$live" | grep -qE -e "-[jg] $c( |\$)"; then echo "@@VF-KEPT-$VF_NONCE@@ $c"; continue; fi
  stale="$stale $c"
done
if [ -n "$stale" ]; then
  { echo '*filter'; for c in $stale; do echo "-F $c"; done; for c in $stale; do echo "-X $c"; done; echo COMMIT; } \
    | vf_restore 'deleting stale chains' || exit 1
  for c in $stale; do echo "@@VF-REMOVED-$VF_NONCE@@ $c"; done
fi
exit 0
