# The domains named as arguments (every domain when none is), each as vf_domains prints it (VirshBackend); include: domains.
vf_domains "$@" || exit 1
exit 0
