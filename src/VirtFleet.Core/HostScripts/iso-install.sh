# Installs an uploaded ISO (IsoStore.EnsureOnHostAsync), under the host lock: its SHA-256 must be the one the admin's copy
# has, then it is renamed to its content's name and the staging folder removed. Bound: staging, sum, iso.
# Exit 2: checksum mismatch.
# shellcheck disable=SC2154 # bound by HostScript.Set
got=$(sha256sum < "$staging/upload.iso" | cut -d' ' -f1) || exit 1
[ "$got" = "$sum" ] || { echo "checksum mismatch after upload ($got)" >&2; rm -rf -- "$staging"; exit 2; }
chmod 0644 -- "$staging/upload.iso" && mv -f -- "$staging/upload.iso" "$iso" || exit 1
rm -rf -- "$staging"
