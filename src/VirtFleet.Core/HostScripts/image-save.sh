# Saves a stopped instance's disk as the files of a new image in a staging folder (Images.ImageSave), under the host
# lock; the caller then installs them (image-install.sh) once it has made their manifest. Include: instance-actions
# (vf_owned, vf_elements, res). Bound: inst (the instance), $1 (its id as read), staging (the staging folder),
# kernel, initrd (file names of the source image's kernel and initrd, or empty).
# The disk is flattened (qemu-img convert -f qcow2 -O qcow2: its own copy of every block, no backing file, no
# checkpoint); the kernel and initrd are copied from the image version the instance's overlay is made on (its backing
# file's folder, only inside VirtFleet's image store). Prints "@@VF-FILE-$VF_NONCE@@ SHA256 NAME" per file, then the
# instance's result line: ok VIRTUAL-SIZE, running, or failed MESSAGE (or vf_owned's changed / notours).
# shellcheck disable=SC2154 # inst, staging, kernel and initrd are bound by HostScript.Set
inst_id=$1
vf_owned "$inst" "$inst_id" 0 || exit 0
vf_fail() { rm -rf -- "$staging"; res "$inst" failed "$1"; exit 0; }
case "$(V domstate "$inst" 2>/dev/null)" in
  "shut off") ;;
  *) res "$inst" running "$inst is not shut off: a running guest's disk is not consistent; stop it first (Stop-VfInstance)"; exit 0 ;;
esac
disk=$(vf_elements disk | grep '\.qcow2$' | head -n 1)
[ -n "$disk" ] && [ -f "$disk" ] || { res "$inst" failed "$inst has no qcow2 disk made by VirtFleet"; exit 0; }
info=$(qemu-img info -U -f qcow2 --output=json -- "$disk") || { res "$inst" failed "qemu-img info $disk failed"; exit 0; }
backing=$(printf '%s\n' "$info" | sed -n 's/^ *"backing-filename": *"\(.*\)",\{0,1\}$/\1/p' | head -n 1)
vdir=${backing%/*}
case "$vdir" in "$VF_STORE"/images/?*) ;; *) vdir='' ;; esac
umask 022
rm -rf -- "$staging" && mkdir -p -- "$staging" || vf_fail "cannot make $staging"
err=$(qemu-img convert -f qcow2 -O qcow2 -- "$disk" "$staging/disk.qcow2" 2>&1) || vf_fail "qemu-img convert: $err"
for f in "$kernel" "$initrd"; do
  [ -n "$f" ] || continue
  [ -n "$vdir" ] && [ -f "$vdir/$f" ] || vf_fail "the source image's $f is not beside the instance's base ($backing)"
  cp -- "$vdir/$f" "$staging/$f" || vf_fail "copying $f failed"
done
new=$(qemu-img info -f qcow2 --output=json -- "$staging/disk.qcow2") || vf_fail "qemu-img info of the new disk failed"
case "$new" in *'"backing-filename"'*|*'"data-file"'*) vf_fail "the new disk still has a backing or data file" ;; esac
size=$(printf '%s\n' "$new" | sed -n 's/^ *"virtual-size": *\([0-9]*\),\{0,1\}$/\1/p' | head -n 1)
for f in "$staging"/*; do
  sum=$(sha256sum -- "$f" | cut -d' ' -f1) || vf_fail "checksum of $f failed"
  printf '\n@@VF-FILE-%s@@ %s %s\n' "$VF_NONCE" "$sum" "${f##*/}"
done
res "$inst" ok "${size:-0}"
