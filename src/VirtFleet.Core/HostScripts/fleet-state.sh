# What a playbook is compared with, from one host in one round trip (FleetStateReader); include: docs, domains, leases,
# passwords (the encrypted passwords Windows instances left on their consoles, for the run's report).
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
printf '\n%s passwords\n' "$M"
names=
for d in "$VF_STORE"/instances/*/console.log; do [ -e "$d" ] || continue; d=${d%/console.log}; names="$names ${d##*/}"; done
# shellcheck disable=SC2086 # instance folder names (VirtFleet's names: no spaces or globs), one argument each
vf_passwords $names
exit 0
