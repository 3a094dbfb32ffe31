# Checkpoints of instances on this host (Checkpoints.CheckpointScripts): libvirt internal snapshots, kept inside the
# instance's own qcow2 overlay (its backing file, the image version, is never written: the chain stays as it was).
# Include: instance-actions (vf_owned, vf_elements, res). Bound: vf_ns (the metadata namespace).
#   vf_cp_list                    every domain with snapshots: "@@VF-INSTANCE-$VF_NONCE@@ NAME ID", the root disk's
#                                 qemu-img info after "@@VF-SECTION-$VF_NONCE@@ disk", the current
#                                 snapshot's name after "@@VF-SECTION-$VF_NONCE@@ current", each snapshot's XML after
#                                 "@@VF-SECTION-$VF_NONCE@@ checkpoint" (a read: no lock)
#   vf_cp_create NAME ID CP DESC  a checkpoint (a running guest: disk and memory; a stopped one: disk)
#   vf_cp_restore NAME ID CP [GUARD-V4 GUARD-V6]  back to a checkpoint; a guest that was off and comes back running
#                                 comes back paused until its default deny is in place (as a start)
#   vf_cp_delete NAME ID CP       removes a checkpoint
# Each change's result is a line "@@VF-RESULT-$VF_NONCE@@ NAME STATUS MESSAGE" (STATUS ok, exists, missing, failed,
# changed, notours). Checkpoint names come checked by an allowlist; every value is a quoted argument.
vf_cp_list() {
  vf_all=$(V list --all --name) || return 1
  printf '%s\n' "$vf_all" | while IFS= read -r n; do
    [ -n "$n" ] || continue
    cps=$(V snapshot-list --domain "$n" --name 2>/dev/null) || continue
    [ -n "$cps" ] || continue
    # shellcheck disable=SC2154 # vf_ns (the metadata namespace) is bound by HostScript.Set
    vf_meta=$(V metadata --domain "$n" --uri "$vf_ns" 2>/dev/null)
    id=$(vf_elements id | head -n 1)
    [ -n "$vf_meta" ] || id=''
    printf '\n@@VF-INSTANCE-%s@@ %s %s\n' "$VF_NONCE" "$n" "${id:--}"
    disk=$(vf_elements disk | grep '\.qcow2$' | head -n 1)
    if [ -n "$disk" ] && [ -f "$disk" ]; then
      printf '\n@@VF-SECTION-%s@@ disk\n' "$VF_NONCE"
      qemu-img info -U -f qcow2 --output=json -- "$disk" 2>/dev/null
    fi
    printf '\n@@VF-SECTION-%s@@ current\n' "$VF_NONCE"
    V snapshot-current --domain "$n" --name 2>/dev/null
    printf '%s\n' "$cps" | while IFS= read -r c; do
      [ -n "$c" ] || continue
      printf '\n@@VF-SECTION-%s@@ checkpoint\n' "$VF_NONCE"
      V snapshot-dumpxml --domain "$n" --snapshotname "$c" 2>/dev/null
    done
  done
}
vf_cp_has() { V snapshot-info --domain "$1" --snapshotname "$2" >/dev/null 2>&1; }
vf_cp_create() { # name id checkpoint description
  vf_owned "$1" "$2" 0 || return 0
  if vf_cp_has "$1" "$3"; then res "$1" exists "$1 already has a checkpoint named $3"; return 0; fi
  # Internal: the snapshot lives in the overlay itself (qemu savevm for a running guest, qemu-img snapshot for a
  # stopped one), so the overlay's backing file and the domain's disk paths stay as they are.
  if [ -n "$4" ]; then err=$(V snapshot-create-as --domain "$1" --name "$3" --description "$4" --atomic 2>&1)
  else err=$(V snapshot-create-as --domain "$1" --name "$3" --atomic 2>&1); fi
  # shellcheck disable=SC2181 # the status of whichever branch ran
  if [ $? -eq 0 ]; then res "$1" ok ""; else res "$1" failed "$err"; fi
}
vf_cp_restore() { # name id checkpoint [guard-v4 guard-v6]
  vf_owned "$1" "$2" 0 || return 0
  vf_cp_has "$1" "$3" || { res "$1" missing "$1 has no checkpoint named $3"; return 0; }
  was=$(V domstate "$1" 2>/dev/null)
  if [ "$was" = "shut off" ] && [ -n "$4" ] && [ -n "$(vf_elements group)" ]; then
    # A guest in a security group that comes back running: paused until its default deny is in place.
    err=$(V snapshot-revert --domain "$1" --snapshotname "$3" --paused 2>&1) || { res "$1" failed "$err"; return 0; }
    [ "$(V domstate "$1" 2>/dev/null)" = paused ] || { res "$1" ok ""; return 0; }
    if ! err=$(vf_guard "$1" "$4" "$5" 2>&1); then
      V destroy "$1" >/dev/null 2>&1
      res "$1" failed "restored, but its firewall could not be put in place, so it was left off: $err"; return 0
    fi
    run "$1" V resume "$1"
    return 0
  fi
  run "$1" V snapshot-revert --domain "$1" --snapshotname "$3"
}
vf_cp_delete() { # name id checkpoint
  vf_owned "$1" "$2" 0 || return 0
  vf_cp_has "$1" "$3" || { res "$1" missing "$1 has no checkpoint named $3"; return 0; }
  run "$1" V snapshot-delete --domain "$1" --snapshotname "$3"
}
