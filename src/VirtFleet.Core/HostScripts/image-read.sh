# An image's manifest on this host, or nothing when it does not hold it (ImageStore.ReadStep). Bound: image_json.
# shellcheck disable=SC2154 # bound by HostScript.Set
cat -- "$image_json" 2>/dev/null
exit 0
