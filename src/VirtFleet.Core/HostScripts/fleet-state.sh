# What a playbook is compared with, from one host in one round trip (FleetStateReader); include: docs, domains, leases.
# Sections follow lines "@@VF-SECTION-$VF_NONCE@@ NAME".
M="@@VF-SECTION-$VF_NONCE@@"
printf '\n%s images\n' "$M"
for f in "$VF_STORE"/images/*/image.json; do [ -e "$f" ] || continue; d=${f%/image.json}; echo "${d##*/}"; done
printf '\n%s networks\n' "$M"
V net-list --all --name
printf '\n%s groups\n' "$M"
cat "$VF_STORE/network/groups.json" 2>/dev/null
printf '\n%s docs\n' "$M"
vf_docs
printf '\n%s domains\n' "$M"
vf_domains || exit 1
echo "@@VF-DOMAIN-$VF_NONCE@@ leases"
vf_leases
exit 0
