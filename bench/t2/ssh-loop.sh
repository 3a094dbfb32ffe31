#!/usr/bin/env bash
# bench/t2/ssh-loop.sh - the "parallel ssh loop" peer of workload T2: one OpenSSH connection per host, all
# hosts at once, each running host-create.sh or host-remove.sh (sh -s) for that host's domains.
#   ssh-loop.sh create|remove <ssh_config> <per-host count> <address>:<hostname>...
# Domains are bench-t2ssh-<hostname>-<k>, k = 1..count. Exit 1 when any host failed.
set -o nounset
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
op=$1 cfg=$2 count=$3
shift 3
pids=()
for hp in "$@"; do
    names=()
    for ((k = 1; k <= count; k++)); do names+=("bench-t2ssh-${hp#*:}-$k"); done
    ssh -F "$cfg" "root@${hp%%:*}" sh -s -- "${names[@]}" < "$dir/host-$op.sh" &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit "$rc"
