# Creates instances on this host (InstanceCreator.CreateStep), under the host lock; include: guard, domains (the read
# back), beside. One call per instance: vf_create NAME UUID BASE-DISK SIZE XML-BASE64 SEED-GZIP-BASE64 [GUARD-V4
# GUARD-V6], or "vf_beside vf_create_beside" with the same arguments and vf_join after them; then vf_readback.
# Processes are what a create costs on a busy host: a create runs qemu-img, define and start (what an admin's loop
# runs), one virsh to read the results back, and a few small tools.
# Each instance's result is a line "@@VF-RESULT-$VF_NONCE@@ NAME STATUS MESSAGE".
S=$VF_STORE
mkdir -p "$S/instances" || exit 1
# Under the lock, a .creating marker is a create that died: remove what it made.
for m in "$S"/instances/*/.creating; do
  [ -e "$m" ] || continue
  d=${m%/.creating}; u=$(cat "$m")
  case "$u" in *[!0-9a-f-]*|'') ;; *) V destroy "$u" >/dev/null 2>&1; V undefine --nvram "$u" >/dev/null 2>&1 || V undefine "$u" >/dev/null 2>&1 ;; esac
  rm -rf -- "$d"
done
vf_uuids=''   # the domains to read back (vf_readback): those made, and those found under the names asked for
vf_result() {
  if [ -z "$3" ]; then printf '\n@@VF-RESULT-%s@@ %s %s \n' "$VF_NONCE" "$1" "$2"
  else printf '\n@@VF-RESULT-%s@@ %s %s %s\n' "$VF_NONCE" "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')"; fi
}
vf_undo() { V destroy "$2" >/dev/null 2>&1; V undefine --nvram "$2" >/dev/null 2>&1 || V undefine "$2" >/dev/null 2>&1; rm -rf -- "$S/instances/$1"; }
# A domain of the name exists (an earlier run's instance, or someone else's domain): it is returned as it is, not made
# again. Asked only where a create cannot go on (its folder exists, or define refused the name), not once per name.
vf_found() { # name: 0 and "exists" when a domain of that name exists
  vf_u=$(V domuuid -- "$1" 2>/dev/null) || return 1
  vf_uuids="$vf_uuids $vf_u"
  vf_result "$1" exists ""
}
vf_create() { # name uuid base-disk size xml-base64 seed-gzip-base64 [guard-v4-base64 guard-v6-base64]
  d="$S/instances/$1"
  if [ -e "$d" ]; then vf_found "$1" || vf_result "$1" failed "$d exists but no domain $1 does; remove it by hand"; return; fi
  # The seed carries user data (which may hold secrets): the instance's files are root's alone (0600), its
  # folder is not listable (0711: a qemu that runs as its own user, with libvirt's dynamic ownership, must still reach them).
  umask 077
  mkdir -m 0711 -- "$d" && printf '%s\n' "$2" > "$d/.creating" || { vf_result "$1" failed "cannot create $d"; return; }
  err=$(qemu-img create -q -f qcow2 -F qcow2 -b "$3" -- "$d/root.qcow2" "$4" 2>&1) \
    || { vf_undo "$1" "$2"; vf_result "$1" failed "qemu-img create: $err"; return; }
  printf '%s' "$6" | base64 -d | gzip -dc > "$d/seed.iso" && printf '%s' "$5" | base64 -d > "$d/domain.xml" \
    || { vf_undo "$1" "$2"; vf_result "$1" failed "writing seed or domain XML failed"; return; }
  # libvirt refuses a definition whose name another domain has (our UUID is new): then that domain is the answer.
  err=$(V define -- "$d/domain.xml" 2>&1) || { vf_undo "$1" "$2"; vf_found "$1" || vf_result "$1" failed "virsh define: $err"; return; }
  if [ -n "$7" ]; then
    err=$(V start --paused -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh start: $err"; return; }
    err=$(vf_guard "$1" "$7" "$8" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "its firewall could not be put in place before it ran, so it was not started: $err"; return; }
    err=$(V resume -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh resume: $err"; return; }
  else
    err=$(V start -- "$1" 2>&1) || { vf_undo "$1" "$2"; vf_result "$1" failed "virsh start: $err"; return; }
  fi
  rm -f -- "$d/.creating" "$d/domain.xml"
  vf_uuids="$vf_uuids $2"
  vf_result "$1" created ""
}
# vf_create beside others (vf_beside, beside.sh): the UUIDs it reports go to its file for vf_join. Without a folder
# for them (vf_beside could not make one and runs it here), they are this shell's as after vf_create.
# shellcheck disable=SC2154 # vf_tmp and vf_jobs are beside.sh's
vf_create_beside() {
  [ -n "$vf_tmp" ] || { vf_create "$@"; return; }
  vf_uuids=''
  vf_create "$@"
  printf '%s\n' "$vf_uuids" > "$vf_tmp/$vf_jobs.uuids"
}
# What there is now of the instances asked for, in Get-VfInstance's format (one virsh).
# shellcheck disable=SC2086 # one UUID a word
vf_readback() { vf_domains_of $vf_uuids; }
