# Turns an image build's root disk into an image's disk (ImageBuildOperations.CompleteAsync), under the host lock.
# Bound: name, uuid (the build's domain as it was read: another domain under that name is left alone), wait (seconds for
# the guest's own power-off), force (1: power off at once when it is not off), root (the root disk), staging (the image's
# upload folder). The guest is asked to shut down (ACPI) and awaited; the root disk must be a disk of the domain
# (device "disk", never a CD-ROM); qemu-img (always given -f) copies it, compacted and without backing file, into the
# staging folder (its virtual size is the top-level one of qemu-img's JSON, indented by four spaces:
# the nested file node's is not); prints "@@VF-RESULT-$VF_NONCE@@ SHA256 VIRTUAL-SIZE".
# Exit 3: no such build; 4: still running after the wait; 5: the root disk is not a disk of the domain; 6: the copy failed.
# shellcheck disable=SC2154 # bound by HostScript.Set
cur=$(V domuuid -- "$name" 2>/dev/null) || { echo "there is no domain $name on this host" >&2; exit 3; }
[ "$cur" = "$uuid" ] || { echo "the domain named $name is another one ($cur) than the build that was read; it is left alone" >&2; exit 3; }
st() { V domstate -- "$name" 2>/dev/null; }
if [ "$(st)" != "shut off" ]; then
  if [ "$force" = 1 ]; then
    V destroy -- "$name" >/dev/null || exit 1
  else
    V shutdown -- "$name" >/dev/null 2>&1
    i=0
    while [ "$(st)" != "shut off" ] && [ "$i" -lt "$wait" ]; do sleep 1; i=$((i+1)); done
    [ "$(st)" = "shut off" ] || { echo "$name did not power off within $wait s (use -Force to power it off)" >&2; exit 4; }
  fi
fi
V domblklist --details -- "$name" | awk '$2 == "disk" { print $4 }' | grep -qxF -- "$root" \
  || { echo "$root is not a disk of $name; nothing was copied" >&2; exit 5; }
rm -rf -- "$staging" && mkdir -p -- "$staging" || exit 1
err=$(qemu-img convert -f qcow2 -O qcow2 -- "$root" "$staging/disk.qcow2" 2>&1) || { rm -rf -- "$staging"; echo "qemu-img convert: $err" >&2; exit 6; }
sum=$(sha256sum < "$staging/disk.qcow2" | cut -d' ' -f1) || exit 6
size=$(qemu-img info -f qcow2 --output=json -- "$staging/disk.qcow2" | sed -n 's/^    "virtual-size": *\([0-9][0-9]*\).*/\1/p' | tail -n 1)
[ -n "$size" ] || { rm -rf -- "$staging"; echo "qemu-img info gave no virtual size" >&2; exit 6; }
printf '\n@@VF-RESULT-%s@@ %s %s\n' "$VF_NONCE" "$sum" "$size"
