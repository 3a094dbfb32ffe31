# Replaces an image's current manifest (image.json in its folder) by the one on standard input, by a rename; under the
# host lock. Bound: dir.
# shellcheck disable=SC2154 # bound by HostScript.Set
cat > "$dir/.image.json.tmp" && mv -f -- "$dir/.image.json.tmp" "$dir/image.json"
