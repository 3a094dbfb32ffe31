# The last encrypted administrator password block on each named instance's serial console log
# (PasswordOperations.ReadStep; a Windows instance's first boot writes it: Windows/first-boot.ps1). Arguments: instance
# names. One section per name, after a line "@@VF-SECTION-$VF_NONCE@@ NAME": the block's three lines, or nothing while
# the log holds none. Only the ciphertext is ever here: the host cannot read the password.
M="@@VF-SECTION-$VF_NONCE@@"
for name in "$@"; do
  printf '\n%s %s\n' "$M" "$name"
  log="$VF_STORE/instances/$name/console.log"
  [ -f "$log" ] || continue
  tr -d '\r' <"$log" | awk '
    /^<Password user="/ { head = $0; n = 1; next }
    n == 1 { body = $0; n = 2; next }
    n == 2 { if ($0 == "</Password>") last = head "\n" body "\n" $0; n = 0 }
    END { if (last != "") print last }'
done
exit 0
