# Library: vf_ip6_lines prints VirtFleet's ip6tables filter lines, each after "@@VF-IP6@@ ", following the line
# "@@VF-IP6-READ@@" (nothing at all when the kernel has no IPv6: nothing to compare). FirewallStatus.Compare reads them.
# (These markers need no nonce: every line grep lets through starts with :VF- or -A.)
vf_ip6_lines() {
  if [ -e /proc/net/if_inet6 ]; then echo '@@VF-IP6-READ@@'; ip6tables-save -t filter 2>/dev/null | grep -E '^(:VF-|-A VF-|-A FORWARD )' | sed 's/^/@@VF-IP6@@ /'; fi
  return 0
}
