# VirtFleet's store on this host, file by file (Storage.StorageScripts): what each file is, whether a domain or an
# overlay still uses it, and the store's filesystem. One rule decides, for the listing (vf_st_list, under the shared host
# lock) and for the removal of orphans (vf_st_remove PATH..., under the exclusive lock, which decides again for each path):
#   network/*                             network  used   (the fleet's networking documents)
#   images/NAME/image.json                image    used   (the image's current manifest)
#   images/NAME/v-HEX/FILE                image    used while v-HEX is the current version or a domain or overlay names
#                                                         a file in it, else orphan (a version folder holds image.json)
#   images/NAME/FILE                      image    used   (an image installed before versions, beside its image.json)
#   images/.NAME.partial/FILE             staging  used for an hour (an upload or save in progress), then orphan
#   instances/NAME/*.qcow2                overlay  (only with a backing file in the image store; qemu-img reads it)
#   instances/NAME/seed.iso               seed     (only an ISO9660 volume labelled CIDATA, or CONFIG-2: a Windows config drive)
#   instances/NAME/.creating, domain.xml, console.log  instance
#                                         each used while a domain NAME exists or a domain or overlay names the file,
#                                         else orphan
#   anything else, and any symlink        foreign  (VirtFleet did not make it: listed, never removed)
# When a domain or an overlay cannot be read, nothing is an orphan. Lines: "@@VF-DF-$VF_NONCE@@ SIZE USED AVAIL" (bytes),
# then per file "@@VF-FILE-$VF_NONCE@@ KIND STATE ALLOCATED SIZE CHECKPOINTS CHECKPOINT-BYTES PATH"; a removal prints
# "@@VF-RESULT-$VF_NONCE@@ removed|kept PATH [REASON]".
vf_st_refs() {
  printf '%s\n' "$vf_doms" | while IFS= read -r n; do
    [ -z "$n" ] || V dumpxml --domain "$n" || echo "@@VF-UNREAD-$VF_NONCE@@"
  done
  for f in "$VF_STORE"/instances/*/*.qcow2; do
    [ -e "$f" ] || continue
    # Only what an overlay names (its backing file), not its own file name.
    if i=$(qemu-img info -U -f qcow2 --output=json -- "$f"); then printf '%s\n' "$i" | grep 'backing-filename"'; else echo "@@VF-UNREAD-$VF_NONCE@@"; fi
  done
}
vf_st_init() {
  vf_doms=$(V list --all --name) || return 1
  vf_refs=$(vf_st_refs 2>/dev/null)
  vf_unread=0
  case "$vf_refs" in *"@@VF-UNREAD-$VF_NONCE@@"*) vf_unread=1 ;; esac
  vf_nl='
'
}
vf_st_named() { case "$vf_refs" in *"$1"*) return 0 ;; esac; [ "$vf_unread" = 1 ]; }
vf_st_domain() { case "$vf_nl$vf_doms$vf_nl" in *"$vf_nl$1$vf_nl"*) return 0 ;; esac; [ "$vf_unread" = 1 ]; }
vf_st_backing() { # a qcow2's backing file, from qemu-img's JSON
  qemu-img info -U -f qcow2 --output=json -- "$1" 2>/dev/null | sed -n 's/^ *"backing-filename": *"\(.*\)",\{0,1\}$/\1/p' | head -n 1
}
vf_st_class() { # path -> "KIND STATE"
  p=$1 r=${1#"$VF_STORE"/}
  if [ -L "$p" ] || [ ! -f "$p" ]; then echo "foreign foreign"; return; fi
  case "$r" in */./*|*/../*|./*|../*|*//*) echo "foreign foreign"; return ;; esac
  b=${r#*/}; b=${b%%/*}
  case "$r" in
    network/*) echo "network used" ;;
    images/.*.partial/*/*) echo "foreign foreign" ;;
    images/.*.partial/*)
      if [ -n "$(find "$p" -maxdepth 0 -mmin +60 2>/dev/null)" ]; then echo "staging orphan"; else echo "staging used"; fi ;;
    images/*/*/*/*) echo "foreign foreign" ;;
    images/*/v-*/*)
      v=${r#images/"$b"/}; v=${v%%/*}
      case "$v" in *[!0-9a-fv-]*) echo "foreign foreign"; return ;; esac
      if [ ! -f "$VF_STORE/images/$b/$v/image.json" ]; then echo "foreign foreign"
      elif grep -q "\"version\": *\"$v\"" "$VF_STORE/images/$b/image.json" 2>/dev/null || vf_st_named "$VF_STORE/images/$b/$v/"; then echo "image used"
      else echo "image orphan"; fi ;;
    images/*/*/*) echo "foreign foreign" ;;
    images/*/*)
      if [ -f "$VF_STORE/images/$b/image.json" ]; then echo "image used"; else echo "foreign foreign"; fi ;;
    instances/*/*/*) echo "foreign foreign" ;;
    instances/*/*)
      f=${r##*/} k=''
      case "$f" in
        *.qcow2) case "$(vf_st_backing "$p")" in "$VF_STORE"/images/?*) k=overlay ;; esac ;;
        seed.iso) case "$(dd if="$p" bs=1 skip=32808 count=8 2>/dev/null)" in CIDATA\ \ |CONFIG-2) k=seed ;; esac ;;
        .creating|domain.xml|console.log) k=instance ;;
      esac
      if [ -z "$k" ]; then echo "foreign foreign"
      elif vf_st_domain "$b" || vf_st_named "$p"; then echo "$k used"
      else echo "$k orphan"; fi ;;
    *) echo "foreign foreign" ;;
  esac
}
vf_st_list() {
  vf_st_init || { echo "could not list domains" >&2; return 1; }
  df -B1 --output=size,used,avail -- "$VF_STORE" 2>/dev/null | tail -n 1 | { read -r sz us av; printf '\n@@VF-DF-%s@@ %s %s %s\n' "$VF_NONCE" "$sz" "$us" "$av"; }
  [ -d "$VF_STORE" ] || return 0
  find "$VF_STORE" -mindepth 1 \( -type f -o -type l \) -printf '%b %s %p\n' 2>/dev/null | while read -r blocks size path; do
    c=$(vf_st_class "$path")
    cps='0 0'
    case "$c" in overlay*)
      # The overlay's checkpoints (internal snapshots): how many, and the memory state they saved.
      cps=$(qemu-img info -U -f qcow2 --output=json -- "$path" 2>/dev/null | sed -n 's/^ *"vm-state-size": *\([0-9]*\),\{0,1\}$/\1/p' \
        | awk '{ n++; s += $1 } END { print n + 0, s + 0 }') ;;
    esac
    n=${cps%% *} m=${cps##* }
    printf '\n@@VF-FILE-%s@@ %s %s %s %s %s %s\n' "$VF_NONCE" "$c" $((blocks * 512)) "$size" "$n" "$m" "$path"
  done
}
vf_st_remove() { # path...: each removed only when it is still an orphan by the rule above
  vf_st_init || { echo "could not list domains" >&2; return 1; }
  for p; do
    case "$p" in "$VF_STORE"/*) ;; *) vf_st_res kept "$p" "not in VirtFleet's store"; continue ;; esac
    c=$(vf_st_class "$p")
    if [ "${c#* }" != orphan ]; then vf_st_res kept "$p" "it is ${c% *} (${c#* })"; continue; fi
    if rm -f -- "$p"; then
      vf_st_res removed "$p" ""
      d=${p%/*}; rmdir -- "$d" 2>/dev/null || :   # the folder goes with its last file
    else vf_st_res kept "$p" "rm failed"; fi
  done
  return 0
}
vf_st_res() { printf '\n@@VF-RESULT-%s@@ %s %s\n' "$VF_NONCE" "$1" "$(printf '%s %s' "$2" "$3" | tr '\n' ' ')"; }
