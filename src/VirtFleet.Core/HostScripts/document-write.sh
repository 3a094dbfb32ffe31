# Replaces a networking document on this host (NetworkStore.WriteDocumentAsync), under the host lock, atomically, when
# its copy still hashes to the version the writer read ("none": absent). The new text is on standard input.
# Bound: file, expected, changed (the message when the copy changed since). Exit 76: it changed.
# shellcheck disable=SC2154 # bound by HostScript.Set
mkdir -p "${file%/*}" || exit 1
v=none; [ -e "$file" ] && v=$(sha256sum < "$file" | cut -c1-64)
[ "$v" = "$expected" ] || { printf '%s\n' "$changed" >&2; exit 76; }
cat > "$file.tmp" && mv -f -- "$file.tmp" "$file"
