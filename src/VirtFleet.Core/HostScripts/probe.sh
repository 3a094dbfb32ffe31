# The host's facts as key=value lines (HostProbe.Parse); include: outside. No value is bound, except by the survey
# (survey.sh, New-VfInstance's read before placing): vf_survey=1 adds its capabilities and domain names to the probe's
# one virsh (raw output left in $vf_virsh) and skips the qemu version (no qemu line: not read), two processes a host
# fewer on the path of every create. Shell builtins read /proc and /sys; three processes in all (df, qemu, one virsh),
# where a process per fact cost a host about 70 ms a probe.
kv() { printf '%s=%s\n' "$1" "$2"; }
read -r v < /proc/sys/kernel/hostname; kv hostname "$v"
read -r v < /proc/sys/kernel/osrelease; kv kernel "$v"
model='' flags='' cpus=0
while IFS= read -r line; do
  case "$line" in
    processor*) cpus=$((cpus + 1)) ;;
    'model name'*) [ -n "$model" ] || model=${line#*: } ;;
    flags*) [ -n "$flags" ] || flags=" ${line#*: } " ;;
  esac
done < /proc/cpuinfo
kv cpumodel "$model"
kv cpus "$cpus"
case "$flags" in *' vmx '*|*' svm '*) kv hwvirt 1 ;; *) kv hwvirt 0 ;; esac
case "$flags" in *' ept '*|*' npt '*) kv slat 1 ;; *) kv slat 0 ;; esac
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then kv kvmdev 1; else kv kvmdev 0; fi
while read -r key val _; do
  case "$key" in MemTotal:) kv memtotal "$val" ;; MemAvailable:) kv memavail "$val" ;; esac
done < /proc/meminfo
[ -d "$VF_STORE" ] || mkdir -p "$VF_STORE" 2>/dev/null
df -Pk "$VF_STORE" 2>/dev/null | { read -r _; read -r _ _ _ v _; kv storefree "$v"; }
v=''
for d in /sys/class/net/*/bridge; do [ -d "$d" ] || continue; d=${d%/bridge}; v="$v${d##*/} "; done
kv bridges "$v"
v=$(vf_outside); kv outside "$v"
[ -n "$v" ] || kv addrs "$(ip -o -4 addr show 2>/dev/null | while read -r _ i _ a _; do printf '%s=%s ' "$i" "${a%/*}"; done)"
if command -v iptables-restore >/dev/null 2>&1; then kv iptables 1; else kv iptables 0; fi
if [ "${vf_survey:-0}" != 1 ]; then
  v=$(qemu-system-x86_64 --version 2>/dev/null)
  case "$v" in "QEMU emulator version "*) v=${v#QEMU emulator version }; kv qemu "${v%%[ (]*}" ;; *) kv qemu "" ;; esac
  vf_more=''
else
  vf_more="; echo @@VF-CAPS-$VF_NONCE@@; capabilities; echo @@VF-NAMES-$VF_NONCE@@; list --all --name"
fi
if v=$(virsh -c "$VF_URI" "version --daemon; echo @@VF-STATS-$VF_NONCE@@; domstats --raw --state --vcpu --balloon$vf_more" 2>/dev/null); then kv libvirtd 1; else kv libvirtd 0; fi
# shellcheck disable=SC2034 # read by survey.sh
vf_virsh=$v
v=${v%%"@@VF-CAPS-$VF_NONCE@@"*}
n=0 r=0 c=0 m=0
while IFS= read -r line; do
  case "$line" in
    'Running against daemon: '*) kv libvirt "${line#Running against daemon: }" ;;
    *Domain:*) n=$((n + 1)) ;;
    *state.state=1) r=$((r + 1)) ;;
    *vcpu.current=*) c=$((c + ${line#*=})) ;;
    *balloon.maximum=*) m=$((m + ${line#*=})) ;;
  esac
done <<VF_STATS
$v
VF_STATS
kv domains "$n"; kv running "$r"; kv vcpus "$c"; kv memcommit "$m"
