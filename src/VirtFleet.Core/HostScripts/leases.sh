# Library: vf_leases prints libvirt's dnsmasq lease files, then "@@VF-RESERVED-$VF_NONCE@@" and VirtFleet's DHCP
# reservations ("mac,ip" lines) on this host (DhcpLeases.Parse). A guest's own hostname is in the lease files: the
# marker's nonce keeps it from posing as the reservations' start.
vf_leases() {
  cat /var/lib/libvirt/dnsmasq/*.status 2>/dev/null
  echo "@@VF-RESERVED-$VF_NONCE@@"
  cat "$VF_STORE"/network/dhcp/*/* 2>/dev/null
  return 0
}
