# One document of this host: its SHA-256 (or "none" when absent) on the first line, then its text
# (SecurityGroupStore.LoadAsync). Bound: file.
# shellcheck disable=SC2154 # bound by HostScript.Set
if [ -e "$file" ]; then sha256sum < "$file" | cut -c1-64 && cat -- "$file"; else echo none; fi
