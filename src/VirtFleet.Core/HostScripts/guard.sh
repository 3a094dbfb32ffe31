# Library: vf_guard NAME V4 V6, the default deny before a guest's first packet (FirewallPlanner.Guard's lines, base64,
# with @VF-TAP@ for the tap), used by a create and by a start. With the guest paused (its taps exist, no instruction has
# run), its chain and a jump per tap go into VirtFleet's chains, for IPv4 and IPv6, then it may run.
vf_guard() {
  taps=$(V domiflist "$1" | awk '$1 != "-" && NF > 1 { print $1 }') || return 1
  chain=$(printf '%s' "$2" | base64 -d | sed -n 's/^:\(VF-I-[A-Za-z0-9_-]*\) .*/\1/p' | head -n 1)
  [ -n "$chain" ] || { echo "no chain in the guard"; return 1; }
  for t in $taps; do case "$t" in *[!A-Za-z0-9_.-]*) echo "unexpected interface name $t"; return 1 ;; esac; done
  for fam in ip ip6; do
    if [ "$fam" = ip ]; then lines=$(printf '%s' "$2" | base64 -d); else [ -e /proc/net/if_inet6 ] || continue; lines=$(printf '%s' "$3" | base64 -d); fi
    command -v "${fam}tables-restore" >/dev/null 2>&1 || { echo "${fam}tables-restore is not installed"; return 1; }
    live=$("${fam}tables-save" -t filter) || { echo "${fam}tables-save failed"; return 1; }
    {
      echo '*filter'
      printf '%s\n' "$live" | grep -q '^:VF-FORWARD ' || echo ':VF-FORWARD - [0:0]'
      # The instance's chain, declared (which empties it) only when it is not there yet: a started
      # instance keeps its groups' rules.
      printf '%s\n' "$live" | grep -q "^:$chain " || printf '%s\n' "$lines" | grep -vF '@VF-TAP@'
      for t in $taps; do printf '%s\n' "$lines" | grep -F '@VF-TAP@' | sed "s/@VF-TAP@/$t/g"; done
      [ "$(printf '%s\n' "$live" | grep -m1 '^-A FORWARD ')" = '-A FORWARD -j VF-FORWARD' ] || echo '-I FORWARD 1 -j VF-FORWARD'
      echo COMMIT
    } | "${fam}tables-restore" -w --noflush 2>&1 || { echo "${fam}tables-restore of the default deny failed"; return 1; }
  done
}
