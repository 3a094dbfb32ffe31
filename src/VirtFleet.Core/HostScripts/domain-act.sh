# One lifecycle action on one domain (VirshBackend.ActAsync): $1 the virsh command, from a fixed list; $2 the domain's name.
case "$1" in start|shutdown|destroy|suspend|resume) ;; *) echo "unknown action $1" >&2; exit 2 ;; esac
V "$1" -- "$2" >/dev/null || exit 1
exit 0
