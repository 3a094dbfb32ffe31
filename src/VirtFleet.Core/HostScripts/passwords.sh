# vf_passwords NAME...: the last encrypted administrator password block on each named instance's serial console log (a
# Windows instance's first boot writes it: Windows/first-boot.ps1), each after a line "@@VF-PASSWORD-$VF_NONCE@@ NAME";
# nothing after the line while the log holds none. Only ciphertext is ever here: the host cannot read the password.
vf_passwords() {
  for name in "$@"; do
    printf '\n@@VF-PASSWORD-%s@@ %s\n' "$VF_NONCE" "$name"
    log="$VF_STORE/instances/$name/console.log"
    [ -f "$log" ] || continue
    tr -d '\r' <"$log" | awk '
      /^<Password user="/ { head = $0; n = 1; next }
      n == 1 { body = $0; n = 2; next }
      n == 2 { if ($0 == "</Password>") last = head "\n" body "\n" $0; n = 0 }
      END { if (last != "") print last }'
  done
}
