# Checks an uploaded image in its staging folder before it is installed: the checksums on standard input
# ("SHA256  FILE" lines) and, with qemu-img (always given -f), that the disk has no backing or data file; under the host
# lock. Bound: staging, disk. Exit 2 checksum mismatch, 3 qemu-img failed, 4 a backing or data file.
# shellcheck disable=SC2154 # bound by HostScript.Set
cd -- "$staging" || exit 1
sha256sum -c --quiet - || { echo 'checksum mismatch after upload' >&2; exit 2; }
info=$(qemu-img info -f qcow2 --output=json -- "$disk") || exit 3
case "$info" in *'"backing-filename"'*|*'"data-file"'*) echo 'image has a backing or data file' >&2; exit 4 ;; esac
