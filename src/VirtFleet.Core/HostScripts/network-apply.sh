# Makes this host's networking what the fleet's definitions say (NetworkReconciler.ApplySteps), under the host lock:
# libvirt networks, DHCP reservations, VXLAN links, taps, public addresses and nat chains, one call per thing, each
# step checking before it changes anything (a second run changes nothing). What it changed is a line
# "@@VF-CHANGED-$VF_NONCE@@ WHAT", what it could not do "@@VF-PROBLEM-$VF_NONCE@@ WHAT". The filter chains follow in
# the same round trip (firewall.sh). Nothing that is not VirtFleet's is removed.
set -f
vf_changed() { printf '\n@@VF-CHANGED-%s@@ %s\n' "$VF_NONCE" "$*"; }
vf_problem() { printf '\n@@VF-PROBLEM-%s@@ %s\n' "$VF_NONCE" "$*"; }
vf_do() { what=$1; shift; if out=$("$@" 2>&1); then vf_changed "$what"; else vf_problem "$what failed: $(printf '%s' "$out" | tr '\n' ' ')"; return 1; fi; }
vf_master() { m=$(readlink "/sys/class/net/$1/master" 2>/dev/null); [ "${m##*/}" = "$2" ] || vf_do "$1 put into bridge $2" ip link set "$1" master "$2"; }
vf_net() { # name bridge xml-base64 dhcp-dir : defined, autostarted, active with dnsmasq; never touches a network on another bridge
  mkdir -p -- "$4" && chmod 755 -- "$4" "${4%/*}" || { vf_problem "cannot create $4"; return 1; }
  if V net-uuid "$1" >/dev/null 2>&1; then
    b=$(V net-dumpxml "$1" | sed -n "s/.*<bridge name='\([^']*\)'.*/\1/p" | head -n 1)
    [ "$b" = "$2" ] || { vf_problem "network $1 uses bridge $b, not $2; left alone"; return 1; }
  else
    f=$(mktemp) && printf '%s' "$3" | base64 -d > "$f" && vf_do "network $1 defined" V net-define "$f"; rm -f "$f"
  fi
  case " $(V net-list --all --autostart --name | tr '\n' ' ') " in *" $1 "*) ;; *) vf_do "network $1 autostarted" V net-autostart "$1" ;; esac
  case " $(V net-list --name | tr '\n' ' ') " in
    *" $1 "*) p=$(cat "/run/libvirt/network/$1.pid" 2>/dev/null)
              if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then V net-destroy "$1" >/dev/null 2>&1; vf_do "network $1 restarted (dnsmasq was not running)" V net-start "$1"; fi ;;
    *) vf_do "network $1 started" V net-start "$1" ;;
  esac
}
vf_dhcp() { # network dir mac,ip... : one file per reservation in the dnsmasq hosts directory; SIGHUP when one goes
  n=$1 dir=$2; shift 2
  mkdir -p -- "$dir" || { vf_problem "cannot create $dir"; return 1; }
  for e in "$@"; do
    f="$dir/${e%%,*}"
    [ "$(cat -- "$f" 2>/dev/null)" = "$e" ] || { printf '%s\n' "$e" > "$f.tmp" && chmod 644 "$f.tmp" && mv -f -- "$f.tmp" "$f" && vf_changed "network $n: DHCP reservation $e"; }
  done
  gone=0
  # The script runs with globbing off (set -f): it is turned on for this one listing of our own directory.
  set +f; vf_files=$(for f in "$dir"/*; do [ -f "$f" ] && printf '%s\n' "${f##*/}"; done); set -f
  for f in $vf_files; do
    case " $* " in *" $f,"*) ;; *) rm -f -- "$dir/$f" && gone=1 && vf_changed "network $n: DHCP reservation $f removed" ;; esac
  done
  if [ "$gone" = 1 ]; then p=$(cat "/run/libvirt/network/$n.pid" 2>/dev/null) && [ -n "$p" ] && kill -HUP "$p" 2>/dev/null; fi
  return 0
}
vf_vxlan() { # dev vni local bridge mtu peer...
  d=$1 id=$2 l=$3 br=$4 mtu=$5; shift 5
  cur=$(ip -d -o link show dev "$d" 2>/dev/null)
  if [ -n "$cur" ]; then case "$cur" in *" vxlan id $id local $l "*) ;; *) vf_do "$d replaced (wrong VNI or local address)" ip link del "$d"; cur= ;; esac; fi
  [ -n "$cur" ] || vf_do "VXLAN link $d (VNI $id) created" ip link add "$d" mtu "$mtu" type vxlan id "$id" local "$l" dstport 4789 nolearning || return 1
  [ -e "/sys/class/net/$br" ] && vf_master "$d" "$br"
  case "$(ip -o link show dev "$d")" in *"<"*UP*">"*) ;; *) vf_do "$d up" ip link set "$d" up ;; esac
  have=$(bridge fdb show dev "$d" 2>/dev/null | sed -n 's/^00:00:00:00:00:00 dst \([0-9.]*\).*/\1/p')
  for p in "$@"; do printf '%s\n' "$have" | grep -qxF -e "$p" || vf_do "$d floods to $p" bridge fdb append 00:00:00:00:00:00 dev "$d" dst "$p"; done
  for p in $have; do case " $* " in *" $p "*) ;; *) vf_do "$d no longer floods to $p" bridge fdb del 00:00:00:00:00:00 dev "$d" dst "$p" ;; esac; done
}
vf_addr() { # add|del address/32 interface label : VirtFleet's addresses carry its label; only those are removed
  if [ "$1" = add ]; then
    ip -o -4 addr show dev "$3" | grep -q " inet $2 " || {
      vf_do "$2 added to $3" ip addr add "$2" dev "$3" label "$4" || return 0
      # tell the segment (gratuitous ARP) when arping is there: a moved address is found at once
      command -v arping >/dev/null 2>&1 && timeout 3 arping -q -U -c 1 -I "$3" "${2%/32}" >/dev/null 2>&1
    }
  else
    ip -o -4 addr show dev "$3" label "$4" | grep -q " inet $2 " && vf_do "$2 removed from $3" ip addr del "$2" dev "$3" label "$4"
  fi
  return 0
}
vf_nat() { # wanted(0|1) [the plan's lines, base64, when 1]
  live=$(iptables-save -t nat) || { vf_problem "iptables-save -t nat failed"; return 1; }
  ours=$(printf '%s\n' "$live" | sed -n 's/^:\(VF-[A-Z]*ROUTING\) .*/\1/p')
  plan=''; [ "$1" = 1 ] && plan=$(printf '%s' "$2" | base64 -d)
  {
    echo '*nat'
    [ "$1" = 1 ] && printf '%s\n' "$plan"
    for c in PREROUTING POSTROUTING; do
      J="-A $c -j VF-$c"
      n=$(printf '%s\n' "$live" | grep -cxF -e "$J")
      first=$(printf '%s\n' "$live" | grep -m1 "^-A $c ")
      if [ "$1" = 1 ]; then
        if [ "$first" != "$J" ] || [ "$n" -ne 1 ]; then i=0; while [ "$i" -lt "$n" ]; do echo "-D $c -j VF-$c"; i=$((i+1)); done; echo "-I $c 1 -j VF-$c"; fi
      else
        i=0; while [ "$i" -lt "$n" ]; do echo "-D $c -j VF-$c"; i=$((i+1)); done
      fi
    done
    [ "$1" = 1 ] || for c in $ours; do echo "-F $c"; done
    echo COMMIT
    if [ "$1" != 1 ] && [ -n "$ours" ]; then echo '*nat'; for c in $ours; do echo "-X $c"; done; echo COMMIT; fi
  } | iptables-restore -w --noflush || { vf_problem "iptables-restore of the nat chains failed; the nat table is as it was"; return 1; }
  vf_changed "nat chains written"
}
vf_network() { # name bridge xml-base64 dhcp-dir [vxlan: dev vni local bridge mtu peer...]: the network, then its VXLAN link
  vf_net "$1" "$2" "$3" "$4" || return 0
  [ $# -gt 4 ] || return 0
  shift 4
  vf_vxlan "$@"
  return 0
}
vf_tap() { # tap bridge: a running instance's tap in its network's bridge (when the tap is there)
  [ -e "/sys/class/net/$1" ] || return 0
  vf_master "$1" "$2"
}
