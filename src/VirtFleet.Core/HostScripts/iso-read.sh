# Whether this host holds an ISO (IsoStore.HasStep): prints "present" or "missing". Bound: iso.
# shellcheck disable=SC2154 # bound by HostScript.Set
if [ -f "$iso" ]; then echo present; else echo missing; fi
exit 0
