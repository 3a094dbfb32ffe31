# bench/t2/host-create.sh - the "parallel ssh loop" peer of workload T2, run on ONE host by
#   ssh root@<host> sh -s -- <name>... < host-create.sh
# For each name: a qcow2 overlay on the VirtFleet-imported vflinux disk (the version image.json names), a small domain XML
# (direct kernel boot of the vflinux kernel/initrd, 256 MiB, 1 vCPU, type qemu, q35, virtio disk,
# serial console: what New-VfInstance -Image vflinux -InstanceType t1.micro defines, minus its
# NoCloud seed CD and metadata), virsh define, virsh start. What an admin's loop would do.
set -e
IMG=/var/lib/libvirt/virtfleet/images/vflinux
# The store keeps each imported version in a folder of its own, named in image.json ("version"); older stores had
# the files beside image.json.
v=$(sed -n 's/^ *"version": *"\([A-Za-z0-9._-]*\)".*/\1/p' "$IMG/image.json")
[ -n "$v" ] && IMG=$IMG/$v
DIR=/var/lib/libvirt/bench-t2
V="virsh -q -c qemu:///system"
mkdir -p "$DIR"
for n in "$@"; do
  qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/disk.qcow2" "$DIR/$n.qcow2" 1G
  cat > "$DIR/$n.xml" <<XML
<domain type='qemu'>
  <name>$n</name>
  <description>VirtFleet bench/run.sh workload T2 (ssh loop peer; removed at the end of the run)</description>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$IMG/vmlinuz</kernel>
    <initrd>$IMG/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$DIR/$n.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='pty'/>
    <console type='pty'/>
    <video><model type='none'/></video>
    <memballoon model='virtio'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
XML
  $V define "$DIR/$n.xml" >/dev/null
  $V start "$n" >/dev/null
done
echo "$(hostname): created $#"
