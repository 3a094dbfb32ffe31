# Removes a network from this host (NetworkReconciler.RemoveNetworkAsync), under the host lock: its libvirt network (only
# when it is on the network's own bridge: another one of that name is not VirtFleet's and is left alone, with a word on
# stderr), its VXLAN link and its DHCP folder. Arguments: name, bridge, VXLAN device, DHCP folder.
if V net-uuid "$1" >/dev/null 2>&1; then
  b=$(V net-dumpxml "$1" | sed -n "s/.*<bridge name='\([^']*\)'.*/\1/p" | head -n 1)
  if [ "$b" = "$2" ]; then V net-destroy "$1" >/dev/null 2>&1; V net-undefine "$1" || exit 1; else echo "network $1 uses bridge $b: not VirtFleet's, left alone" >&2; fi
fi
[ -e "/sys/class/net/$3" ] && { ip link del "$3" || exit 1; }
rm -rf -- "$4"
exit 0
