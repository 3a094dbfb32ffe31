# Waits until instances run and, where they have a NIC, hold a DHCP lease (InstanceWaiter). Bound: wait_seconds.
# Calls: vf_running NAME, vf_lease MAC.
# shellcheck disable=SC2154 # bound by HostScript.Set
end=$(( $(date +%s) + wait_seconds ))
vf_running() { while [ "$(V domstate "$1" 2>/dev/null)" != running ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done; }
vf_lease() { until grep -qi -e "$1" /var/lib/libvirt/dnsmasq/*.status 2>/dev/null || [ "$(date +%s)" -ge "$end" ]; do sleep 0.5; done; }
