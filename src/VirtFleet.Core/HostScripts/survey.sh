# What New-VfInstance reads of a host before placing (InstanceCreator.SurveyStep); include: outside, probe (the facts
# come first; with vf_survey=1 its one virsh also read the capabilities and the domain names, in $vf_virsh). Bound:
# vf_survey=1, image_json, the image's manifest on this host.
# shellcheck disable=SC2154 # vf_virsh is set by probe.sh
case "$vf_virsh" in
  *"@@VF-CAPS-$VF_NONCE@@"*"@@VF-NAMES-$VF_NONCE@@"*) ;;
  *) vf_virsh="@@VF-CAPS-$VF_NONCE@@@@VF-NAMES-$VF_NONCE@@" ;;   # virsh failed: no capabilities, no names
esac
v=${vf_virsh#*"@@VF-CAPS-$VF_NONCE@@"}
printf '\n@@VF-CAPS-%s@@\n%s\n' "$VF_NONCE" "${v%%"@@VF-NAMES-$VF_NONCE@@"*}"
printf '\n@@VF-NAMES-%s@@\n%s\n' "$VF_NONCE" "${v#*"@@VF-NAMES-$VF_NONCE@@"}"
printf '\n@@VF-IMAGE-%s@@\n' "$VF_NONCE"
# shellcheck disable=SC2154 # bound by HostScript.Set
cat -- "$image_json" 2>/dev/null
exit 0
