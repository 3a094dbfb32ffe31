# Read on a move's destination for the pre-checks (MoveOperation.ReadDestinationAsync, after probe.sh in the same round
# trip): whether a domain of that name or UUID exists, whether each backing file is there, the CPU comparison against the
# source's domain XML (on standard input) for the domain's hypervisor, and the networks defined here. Arguments: name,
# uuid, the domain's virt type, arch, machine and emulator (each may be empty), backing files...
n=$1 u=$2 vt=$3 arch=$4 mach=$5 emu=$6; shift 6
echo "@@VF-NAME-$VF_NONCE@@"; V domuuid -- "$n" 2>/dev/null
echo "@@VF-UUID-$VF_NONCE@@"; V domname -- "$u" 2>/dev/null
for f in "$@"; do if [ -f "$f" ]; then echo "@@VF-BACKING-$VF_NONCE@@ yes $f"; else echo "@@VF-BACKING-$VF_NONCE@@ no $f"; fi; done
t=$(mktemp) || exit 1
cat > "$t"
echo "@@VF-CPU-$VF_NONCE@@"
if grep -q '<cpu' "$t"; then
  V hypervisor-cpu-compare --error ${vt:+--virttype "$vt"} ${arch:+--arch "$arch"} ${mach:+--machine "$mach"} ${emu:+--emulator "$emu"} -- "$t" 2>&1 | head -n 3
else echo 'no-cpu'; fi
rm -f -- "$t"
echo "@@VF-NETS-$VF_NONCE@@"; V net-list --name 2>/dev/null
echo "@@VF-HELPER-$VF_NONCE@@"; command -v virt-ssh-helper || echo ''
echo "@@VF-END-$VF_NONCE@@"
exit 0
