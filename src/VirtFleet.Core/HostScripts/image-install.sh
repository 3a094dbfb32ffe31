# Installs a verified upload as a version of an image and makes it the current one (ImageStore.EnsureOnHostAsync), under
# the host lock (a create making an overlay on a version, and a prune removing it, never interleave). Bound: staging,
# dir (the image's folder), ver (the version), manifest (its image.json). A version folder appears by one rename of the
# verified staging folder and is never written again; image.json (the current version) is replaced by a rename. An old
# version (or an image's files from before versions) is removed only when no domain (its XML: kernel, initrd, a running
# guest's backing chain) and no instance overlay (its backing file) names it.
# shellcheck disable=SC2154 # bound by HostScript.Set
mkdir -p -- "$dir" || exit 1
if [ -d "$dir/$ver" ]; then rm -rf -- "$staging"
else printf '%s' "$manifest" > "$staging/image.json" && mv -- "$staging" "$dir/$ver" || exit 1
fi
printf '%s' "$manifest" > "$dir/.image.json.tmp" && mv -f -- "$dir/.image.json.tmp" "$dir/image.json" || exit 1
doms=$(V list --all --name) || { echo 'could not list domains: old image versions kept' >&2; exit 0; }
vf_refs() {
  printf '%s\n' "$doms" | while IFS= read -r n; do
    [ -z "$n" ] || V dumpxml --domain "$n" || echo "@@VF-UNREAD-$VF_NONCE@@"
  done
  for f in "$VF_STORE"/instances/*/*.qcow2; do
    [ ! -e "$f" ] || qemu-img info -U -f qcow2 --output=json -- "$f" || echo "@@VF-UNREAD-$VF_NONCE@@"
  done
}
refs=$(vf_refs 2>/dev/null)
case "$refs" in *"@@VF-UNREAD-$VF_NONCE@@"*) echo 'a domain or disk could not be read: old image versions kept' >&2; exit 0 ;; esac
for p in "$dir"/*; do
  [ -e "$p" ] || continue
  case "${p##*/}" in image.json|"$ver") continue ;; esac
  case "$refs" in *"$p"*) continue ;; esac
  rm -rf -- "$p"
done
exit 0
