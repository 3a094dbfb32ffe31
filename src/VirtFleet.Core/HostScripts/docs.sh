# Library: vf_docs prints the fleet's networking documents as this host keeps them (NetworkStore.ParseDocs): per
# file a line "@@VF-DOC-$VF_NONCE@@ FILE", then its SHA-256 (or "none" when absent) and its text.
vf_docs() {
  for f in networks.json addresses.json groups.json; do
    printf '\n@@VF-DOC-%s@@ %s\n' "$VF_NONCE" "$f"
    if [ -e "$VF_STORE/network/$f" ]; then sha256sum < "$VF_STORE/network/$f" | cut -c1-64; cat -- "$VF_STORE/network/$f"; else echo none; fi
  done
}
