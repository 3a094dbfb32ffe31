# Every domain of this host (include: domains; the builds among them are told by their metadata), then the size of each
# instance folder's root disk, one line "@@VF-SIZE-$VF_NONCE@@ BYTES PATH" each (ImageBuildOperations.ListAsync).
vf_domains || exit 1
for f in "$VF_STORE"/instances/*/root.qcow2; do
  [ -f "$f" ] || continue
  printf '\n@@VF-SIZE-%s@@ %s %s\n' "$VF_NONCE" "$(wc -c < "$f" | tr -d ' ')" "$f"
done
exit 0
