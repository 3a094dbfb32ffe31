# The prelude of every VirtFleet round trip (HostBatch.cs). HostBatch binds, before this text:
#   VF_NONCE  this run's random nonce: every reply marker is @@VF-KIND-$VF_NONCE@@, which text printed on behalf
#             of a domain, a guest or a document cannot know, so cannot forge
#   VF_URI    the libvirt connection (HostScript.LibvirtUri)
#   VF_STORE  VirtFleet's folder on the host (HostPaths.Store)
# Each step then runs in a subshell of its own; vf_step ends it with its exit code.

# virsh on VirtFleet's connection, quiet.
V() { virsh -q -c "$VF_URI" "$@"; }

# The end of step $1, exit code $2, on stdout and stderr (HostBatch splits each stream there).
vf_step() {
  printf '\n@@VF-STEP-%s@@ %s %s\n' "$VF_NONCE" "$1" "$2"
  printf '\n@@VF-STEP-%s@@ %s %s\n' "$VF_NONCE" "$1" "$2" >&2
}
