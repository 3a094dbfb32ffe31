# Lifecycle changes of several instances of one host (InstanceActions.Step), under the host lock; include: guard (a
# start), domains (the read back), beside. One call per instance: vf_act ACTION NAME EXPECTED-ID FORCE [ARGS...], or
# "vf_beside vf_act ..." for each and vf_join after them (every action but a start, whose guard rewrites the host's
# tables). Each instance's result is a line "@@VF-RESULT-$VF_NONCE@@ NAME STATUS MESSAGE". A removal by name patterns
# finds its domains here: vf_remove_matching FORCE IDS PATTERN... (include: beside).
S=$VF_STORE
st() { V domstate "$1" 2>/dev/null; }
res() { printf '\n@@VF-RESULT-%s@@ %s %s %s\n' "$VF_NONCE" "$1" "$2" "$(printf '%s' "$3" | tr '\n' ' ')"; }
run() { n=$1; shift; if err=$("$@" 2>&1); then res "$n" ok ""; else res "$n" failed "$err"; fi; }
wait_off() { i=0; while [ "$(st "$1")" != "shut off" ] && [ "$i" -lt "$2" ]; do sleep 1; i=$((i+1)); done; [ "$(st "$1")" = "shut off" ]; }
# The domain now under this name must be the instance the caller read: the same VirtFleet instance id, read
# here from the domain's own metadata (empty: not VirtFleet's, acted on only when the caller read it so and
# passed -Force). A stale object never acts on a domain that took its name since.
vf_elements() { # the text of each <vf:NAME> element of $vf_meta, one a line (one element a line however it is printed)
  printf '%s\n' "$vf_meta" | sed 's|<|\n<|g' | sed -n "s|^<\([A-Za-z0-9_]*:\)\{0,1\}$1>\(.*\)\$|\2|p"
}
vf_owned() { # name expected-id force (expected-id '*': the instance found here, whichever it is)
  # One virsh when the domain has VirtFleet's metadata (the usual case); without it, domuuid tells a domain without
  # metadata from no domain.
  # shellcheck disable=SC2154 # vf_ns (the metadata namespace) is bound by HostScript.Set
  if ! vf_meta=$(V metadata --domain "$1" --uri "$vf_ns" 2>/dev/null); then
    V domuuid "$1" >/dev/null 2>&1 || { res "$1" failed "no domain $1 on this host"; return 1; }
    vf_meta=''
  fi
  vf_id=$(vf_elements id | head -n 1)
  [ -n "$vf_meta" ] || vf_id=''
  if [ "$2" != '*' ] && [ "$vf_id" != "$2" ]; then
    vf_was=${vf_id:-"not a VirtFleet instance"} vf_read=${2:-"(not VirtFleet's)"}
    res "$1" changed "the domain named $1 is $vf_was, not the instance $vf_read that was read; it is left alone"
    return 1
  fi
  [ -n "$vf_id" ] || [ "$3" = 1 ] || { res "$1" notours "$1 was not created by VirtFleet; it is left alone"; return 1; }
}
vf_start() { # name [guard-v4 guard-v6]: an instance in a security group starts paused until its default deny is in place
  case "$(st "$1")" in
    running) res "$1" ok "" ;;
    paused) run "$1" V resume "$1" ;;
    *) if [ -n "$2" ] && [ -n "$(vf_elements group)" ]; then
         if ! err=$(V start --paused "$1" 2>&1); then res "$1" failed "$err"
         elif ! err=$(vf_guard "$1" "$2" "$3" 2>&1); then V destroy "$1" >/dev/null 2>&1; res "$1" failed "its firewall could not be put in place, so it was not started: $err"
         else run "$1" V resume "$1"; fi
       else run "$1" V start "$1"; fi ;;
  esac
}
vf_stop() { # name timeout force
  case "$(st "$1")" in "shut off") res "$1" ok ""; return ;; esac
  if [ "$3" = 1 ]; then run "$1" V destroy "$1"; return; fi
  V shutdown "$1" >/dev/null 2>&1
  if wait_off "$1" "$2"; then res "$1" ok ""; else run "$1" V destroy "$1"; fi
}
vf_shutdown() { # name: asked, not waited for (the caller waits on the domain's Stopped event)
  case "$(st "$1")" in "shut off") ;; *) V shutdown "$1" >/dev/null 2>&1 ;; esac
  res "$1" ok ""
}
vf_restart() { if [ "$2" = 1 ]; then run "$1" V reset "$1"; else run "$1" V reboot "$1"; fi; }
vf_suspend() { case "$(st "$1")" in paused) res "$1" ok "" ;; *) run "$1" V suspend "$1" ;; esac; }
vf_resume() { case "$(st "$1")" in running) res "$1" ok "" ;; *) run "$1" V resume "$1" ;; esac; }
vf_remove() { # name (after vf_owned: its metadata is in $vf_meta)
  n=$1 d="$S/instances/$1"
  # The disks to delete are the ones the domain's own metadata names, read here, each only when it is a
  # file directly in the instance's folder: no '.' or '..' component, the same place once symlinks are
  # resolved, and the folder itself not a symlink. Anything else is kept.
  vf_disks=$(vf_elements disk)
  # Its checkpoints: libvirt's metadata goes with the definition (undefine refuses a domain with snapshots without
  # --snapshots-metadata); the snapshots themselves live inside its overlay, deleted below with its disks.
  # destroy (which fails, harmlessly, when it is not running) and undefine in one virsh, whose status is the last
  # command's; the name goes into virsh's command line only when it is a plain word (instance names are).
  case "$n" in
    ''|-*|*[!A-Za-z0-9_.-]*) V destroy "$n" >/dev/null 2>&1; err=$(V undefine --nvram --snapshots-metadata "$n" 2>&1) ;;
    *) err=$(V "destroy $n; undefine --nvram --snapshots-metadata $n" 2>&1) ;;
  esac
  # shellcheck disable=SC2181 # the status of whichever branch ran
  if [ $? != 0 ] && ! err=$(V undefine --snapshots-metadata "$n" 2>&1); then res "$n" failed "$err"; return; fi
  vf_real=''; [ -d "$d" ] && [ ! -L "$d" ] && vf_real=$(realpath -e -- "$d" 2>/dev/null)
  printf '%s\n' "$vf_disks" | while IFS= read -r f; do
    [ -n "$f" ] && [ -n "$vf_real" ] || continue
    case "$f/" in */./*|*/../*|*//*) continue ;; esac
    case "$f" in "$d/"*/*) continue ;; "$d/"?*) ;; *) continue ;; esac
    # f is one plain name in the folder, which is not a symlink (vf_real is where it resolves), and f itself must not
    # be one: so it resolves to vf_real/<name> (what realpath -m would say, without a process per disk).
    r="$vf_real/${f##*/}"
    [ -f "$r" ] && [ ! -L "$f" ] && rm -f -- "$r"
  done
  rm -f -- "$d/.creating" "$d/domain.xml" "$d/console.log"; rmdir -- "$d" 2>/dev/null
  res "$n" ok ""
}
vf_grow() { # name bytes: the root disk (VirtFleet's overlay) grows to bytes, never shrinks; live when the guest runs
  disk="$S/instances/$1/root.qcow2"
  [ -f "$disk" ] || { res "$1" failed "it has no root disk $disk"; return; }
  have=$(qemu-img info -U -f qcow2 --output=json -- "$disk" 2>/dev/null | sed -n 's/^ *"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)
  [ -n "$have" ] || { res "$1" failed "the size of $disk could not be read"; return; }
  if [ "$2" -lt "$have" ]; then res "$1" failed "its disk is $have bytes: a disk grows, it never shrinks"; return; fi
  if [ "$2" -eq "$have" ]; then res "$1" ok ""; return; fi
  case "$(st "$1")" in
    "shut off") run "$1" qemu-img resize -q -f qcow2 -- "$disk" "$2" ;;
    *) run "$1" V blockresize "$1" "$disk" "${2}B" ;;
  esac
}
vf_act() { # action name expected-id force [action's own arguments...]: the action, when the domain is the one that was read
  a=$1 n=$2; shift 2
  vf_owned "$n" "$1" "$2" || return 0
  shift 2
  case "$a" in
    start) vf_start "$n" "$@" ;;
    stop) vf_stop "$n" "$@" ;;
    shutdown) vf_shutdown "$n" ;;
    restart) vf_restart "$n" "$@" ;;
    suspend) vf_suspend "$n" ;;
    resume) vf_resume "$n" ;;
    remove) vf_remove "$n" ;;
    grow) vf_grow "$n" "$@" ;;
    *) res "$n" failed "unknown action $a" ;;
  esac
}
vf_matches() { # value pattern...: the value (lower case) matches one of the shell patterns (lower case)
  vf_v=$1; shift
  for vf_p in "$@"; do
    # shellcheck disable=SC2254 # the pattern is meant to match: Wildcard.ToShellPattern made it of plain characters
    case "$vf_v" in $vf_p) return 0 ;; esac
  done
  return 1
}
vf_remove_matching() { # force ids pattern...: removes every domain whose name matches a pattern (ids=1: or whose
  # VirtFleet instance id does), side by side, each as vf_act removes it; then prints the removed domains as they were
  # before (vf_domains_of), for the caller to release their networking. Patterns are lower-case shell patterns of plain
  # characters (Wildcard.ToShellPattern); names are compared in lower case, as PowerShell's wildcards do.
  vf_force=$1 vf_ids=$2; shift 2
  # A listing or read that fails ends the script (its error on stderr) before anything is removed.
  vf_list=$(V list --all --uuid --name) || exit 1
  vf_sel='' vf_found=''
  while read -r vf_u vf_n; do
    [ -n "$vf_n" ] || continue
    case "$vf_n" in *[[:upper:]]*) vf_l=$(printf '%s' "$vf_n" | tr '[:upper:]' '[:lower:]') ;; *) vf_l=$vf_n ;; esac
    if ! vf_matches "$vf_l" "$@"; then
      # Not by its name: by its instance id, read from its metadata only when a pattern may name an id.
      if [ "$vf_ids" != 1 ] || ! vf_meta=$(V metadata --domain "$vf_u" --uri "$vf_ns" 2>/dev/null); then continue; fi
      vf_id=$(vf_elements id | head -n 1 | tr '[:upper:]' '[:lower:]')
      if [ -z "$vf_id" ] || ! vf_matches "$vf_id" "$@"; then continue; fi
    fi
    vf_sel="$vf_sel $vf_u"
    vf_found="$vf_found$vf_n
"
  done <<VF_LIST
$vf_list
VF_LIST
  # shellcheck disable=SC2086 # one UUID a word
  vf_before=$(vf_domains_of $vf_sel) || exit 1
  while IFS= read -r vf_n; do
    [ -z "$vf_n" ] || vf_beside vf_act remove "$vf_n" '*' "$vf_force"
  done <<VF_FOUND
$vf_found
VF_FOUND
  vf_join
  [ -z "$vf_before" ] || printf '%s\n' "$vf_before"
}
