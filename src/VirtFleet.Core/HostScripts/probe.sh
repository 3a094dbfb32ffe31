# The host's facts as key=value lines (HostProbe.Parse); include: outside. Only fixed text: no value is bound.
# Shell builtins read /proc and /sys; three processes in all (df, qemu, one virsh), where a process per fact cost a
# host about 70 ms a probe.
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
v=$(qemu-system-x86_64 --version 2>/dev/null)
case "$v" in "QEMU emulator version "*) v=${v#QEMU emulator version }; kv qemu "${v%%[ (]*}" ;; *) kv qemu "" ;; esac
if v=$(virsh -c "$VF_URI" "version --daemon; echo @@VF-STATS-$VF_NONCE@@; domstats --raw --state --vcpu --balloon" 2>/dev/null); then kv libvirtd 1; else kv libvirtd 0; fi
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
