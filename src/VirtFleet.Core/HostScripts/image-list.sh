# Every image's current manifest on this host, each after a line "@@VF-IMAGE-$VF_NONCE@@" (ImageStore.ListOnHostAsync).
for f in "$VF_STORE"/images/*/image.json; do
  [ -e "$f" ] || continue
  echo "@@VF-IMAGE-$VF_NONCE@@"
  cat "$f"
done
exit 0
