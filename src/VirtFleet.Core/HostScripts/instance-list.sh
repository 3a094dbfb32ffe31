# Every domain of the host (include: domains, leases), then the DHCP leases after the line
# "@@VF-DOMAIN-$VF_NONCE@@ leases" (InstanceReader.Parse).
vf_domains || exit 1
echo "@@VF-DOMAIN-$VF_NONCE@@ leases"
vf_leases
exit 0
