# What New-VfInstance reads of a host before placing (InstanceCreator.SurveyStep); include: outside, probe (the facts
# come first). Bound: image_json, the image's manifest on this host.
v=$(V "capabilities; echo @@VF-NAMES-$VF_NONCE@@; list --all --name")
printf '\n@@VF-CAPS-%s@@\n%s\n' "$VF_NONCE" "${v%%@@VF-NAMES-"$VF_NONCE"@@*}"
printf '\n@@VF-NAMES-%s@@\n%s\n' "$VF_NONCE" "${v#*@@VF-NAMES-"$VF_NONCE"@@}"
printf '\n@@VF-IMAGE-%s@@\n' "$VF_NONCE"
# shellcheck disable=SC2154 # bound by HostScript.Set
cat -- "$image_json" 2>/dev/null
exit 0
