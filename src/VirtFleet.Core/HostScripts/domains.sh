# Library: vf_domains [NAME...] prints, per domain (every domain when none is named), the line
# "@@VF-DOMAIN-$VF_NONCE@@ UUID", its state and its XML (InstanceReader.ParseDomains), with one virsh for the
# list and one for the rest; it fails when the list does. vf_domains_of UUID... prints the same for domains whose
# UUIDs the caller has from libvirt (or defined them with), in one virsh. UUIDs are the only values put into
# virsh's command line, and they are checked to be hex.
vf_domains() {
  vf_list=$(V list --all --uuid --name) || return 1
  vf_sel=''
  while read -r vf_u vf_n; do
    [ $# -eq 0 ] || case " $* " in *" $vf_n "*) ;; *) continue ;; esac
    vf_sel="$vf_sel $vf_u"
  done <<VF_LIST
$vf_list
VF_LIST
  # shellcheck disable=SC2086 # one UUID a word
  vf_domains_of $vf_sel
}
vf_domains_of() {
  vf_cmds=""
  for vf_u in "$@"; do
    case "$vf_u" in *[!0-9a-f-]*|'') continue ;; esac
    vf_cmds="$vf_cmds echo @@VF-DOMAIN-$VF_NONCE@@ $vf_u; domstate $vf_u; dumpxml $vf_u;"
  done
  [ -z "$vf_cmds" ] || V "$vf_cmds"
}
