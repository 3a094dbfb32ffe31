# bench/t2/host-remove.sh - the "parallel ssh loop" peer of workload T2, removal, on ONE host:
#   ssh root@<host> sh -s -- <name>... < host-remove.sh
# virsh destroy + virsh undefine + rm of the overlay and XML, per name.
set -e
DIR=/var/lib/libvirt/bench-t2
V="virsh -q -c qemu:///system"
for n in "$@"; do
  $V destroy "$n" >/dev/null
  $V undefine "$n" >/dev/null
  rm -f "$DIR/$n.qcow2" "$DIR/$n.xml"
done
echo "$(hostname): removed $#"
