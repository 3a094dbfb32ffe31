# Creates an image build's domain on this host (ImageBuildOperations.NewAsync), under the host lock; include: domains (the
# read back). Arguments: NAME UUID SIZE-BYTES XML-BASE64 [UNATTENDED-ISO-GZIP-BASE64]. A new empty qcow2 root disk and the
# domain (root disk first, then the CD-ROMs the XML names) are made in the instance folder, marked .creating until started
# (a create that dies is reaped by the next create on this host, as instance-create.sh does), then the domain is started.
# Exit 3: the name is taken (a domain or a folder); 1: the create failed and nothing of it was left.
S=$VF_STORE
n=$1 u=$2 size=$3 d="$S/instances/$1"
mkdir -p "$S/instances" || exit 1
if V domuuid -- "$n" >/dev/null 2>&1; then echo "a domain named $n already exists on this host" >&2; exit 3; fi
[ ! -e "$d" ] || { echo "$d exists but no domain $n does; remove it by hand" >&2; exit 3; }
undo() { V destroy "$u" >/dev/null 2>&1; V undefine --nvram "$u" >/dev/null 2>&1 || V undefine "$u" >/dev/null 2>&1; rm -rf -- "$d"; }
umask 077
mkdir -p -- "$d" && chmod 0711 -- "$d" && printf '%s\n' "$u" > "$d/.creating" || { rm -rf -- "$d"; exit 1; }
err=$(qemu-img create -q -f qcow2 -- "$d/root.qcow2" "$size" 2>&1) || { undo; echo "qemu-img create: $err" >&2; exit 1; }
if [ -n "$5" ]; then
  printf '%s' "$5" | base64 -d | gzip -dc > "$d/unattended.iso" || { undo; echo "writing the answer file's ISO failed" >&2; exit 1; }
fi
printf '%s' "$4" | base64 -d > "$d/domain.xml" || { undo; echo "writing the domain XML failed" >&2; exit 1; }
err=$(V define -- "$d/domain.xml" 2>&1) || { undo; echo "virsh define: $err" >&2; exit 1; }
err=$(V start -- "$n" 2>&1) || { undo; echo "virsh start: $err" >&2; exit 1; }
rm -f -- "$d/.creating" "$d/domain.xml"
vf_domains "$n"
exit 0
