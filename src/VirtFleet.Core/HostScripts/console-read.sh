# The tail of an instance's serial console log (ConsoleOperations.GetOutputAsync). Bound: name, log (its path in the
# instance's folder), uuid (the domain as read; another domain under the name is refused), bytes (the most to print).
# Prints "@@VF-RESULT-$VF_NONCE@@ LENGTH" and then the log's last BYTES bytes.
# Exit 3: the domain is not the one read; 4: there is no console log (an instance made before VirtFleet kept one, or a
# profile without a serial console).
# shellcheck disable=SC2154 # bound by HostScript.Set
cur=$(V domuuid -- "$name" 2>/dev/null) || { echo "there is no domain $name on this host" >&2; exit 3; }
[ "$cur" = "$uuid" ] || { echo "the domain named $name is another one ($cur) than the instance that was read" >&2; exit 3; }
[ -f "$log" ] || { echo "$name has no console log on this host (made before VirtFleet kept one, or its OS profile has no serial console)" >&2; exit 4; }
printf '@@VF-RESULT-%s@@ %s\n' "$VF_NONCE" "$(wc -c < "$log" | tr -d ' ')"
tail -c "$bytes" -- "$log"
