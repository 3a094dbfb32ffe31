# What the networking layer needs to know about this host, in one round trip (HostNetworkState.Parse); include: docs,
# domains, outside, ip6read. Sections follow lines "@@VF-SECTION-$VF_NONCE@@ NAME"; a domain's XML (its description)
# or a network's cannot forge one.
M="@@VF-SECTION-$VF_NONCE@@"
vf_docs
printf '\n%s domains\n' "$M"
vf_domains || exit 1
printf '\n%s networks\n' "$M"
active=" $(V net-list --name | tr '\n' ' ') "
auto=" $(V net-list --all --autostart --name | tr '\n' ' ') "
for n in $(V net-list --all --name); do
  case "$n" in *[!A-Za-z0-9_.-]*) continue ;; esac
  a=0; case "$active" in *" $n "*) a=1 ;; esac
  s=0; case "$auto" in *" $n "*) s=1 ;; esac
  m=0; p=$(cat "/run/libvirt/network/$n.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && m=1
  printf '\n@@VF-NET-%s@@ %s %s %s %s\n' "$VF_NONCE" "$n" "$a" "$s" "$m"
  V net-dumpxml "$n"
done
printf '\n%s links\n' "$M"
for l in /sys/class/net/*; do
  m=$(readlink "$l/master" 2>/dev/null); printf '%s %s\n' "${l##*/}" "${m##*/}"
done
printf '\n%s vxlan\n' "$M"
ip -d -o link show type vxlan 2>/dev/null
for l in $(ip -o link show type vxlan 2>/dev/null | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
  bridge fdb show dev "$l" 2>/dev/null | sed -n "s/^00:00:00:00:00:00 dst \([0-9.]*\).*/@@VF-FDB-$VF_NONCE@@ $l \1/p"
done
printf '\n%s outside\n' "$M"
vf_outside; echo
printf '\n%s addresses\n' "$M"
ip -o -4 addr show
printf '\n%s dhcp\n' "$M"
for n in "$VF_STORE"/network/dhcp/*/; do
  [ -d "$n" ] || continue
  n=${n%/}; printf '@@VF-DHCPNET-%s@@ %s\n' "$VF_NONCE" "${n##*/}"
  for f in "$n"/*; do [ -f "$f" ] && { cat -- "$f"; echo; }; done
done
printf '\n%s leases\n' "$M"
cat /var/lib/libvirt/dnsmasq/*.status 2>/dev/null
printf '\n%s filter\n' "$M"
iptables-save -t filter 2>/dev/null | grep -E '^(:VF-|-A VF-|-A FORWARD )'
echo "@@VF-BRIDGE-NF@@ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)"
vf_ip6_lines
printf '\n%s nat\n' "$M"
iptables-save -t nat 2>/dev/null | grep -E '^(:VF-|-A VF-|-A PREROUTING |-A POSTROUTING )'
exit 0
