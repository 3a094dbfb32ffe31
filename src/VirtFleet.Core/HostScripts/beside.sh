# Library: vf_beside FUNCTION ARGS... runs a function of the script in the background, up to 4 at once (the fifth
# waits for the first four), its standard output kept in a file; vf_join waits for them all and prints their outputs
# in the order they were started. A job may also leave UUIDs for the read back in "$vf_tmp/$vf_jobs.uuids" (its own
# number, set when it starts): vf_join adds them to vf_uuids. For instances of one host that wait on qemu and libvirtd
# more than they compute (starts, stops, removals); never for what rewrites shared host state (a firewall guard).
vf_tmp='' vf_jobs=0 vf_uuids=''
vf_beside() {
  [ "$vf_jobs" -lt 4 ] || vf_join
  if [ -z "$vf_tmp" ]; then vf_tmp=$(mktemp -d) || { vf_tmp=''; "$@"; return; }; fi
  vf_jobs=$((vf_jobs + 1))
  "$@" > "$vf_tmp/$vf_jobs.out" &
}
vf_join() {
  wait
  vf_k=1
  while [ "$vf_k" -le "$vf_jobs" ]; do
    cat -- "$vf_tmp/$vf_k.out"
    [ -e "$vf_tmp/$vf_k.uuids" ] && read -r vf_u < "$vf_tmp/$vf_k.uuids" && vf_uuids="$vf_uuids $vf_u"
    vf_k=$((vf_k + 1))
  done
  vf_jobs=0
  [ -z "$vf_tmp" ] || rm -rf -- "$vf_tmp"
  vf_tmp=''
}
