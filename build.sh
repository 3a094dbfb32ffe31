#!/usr/bin/env bash
# VirtFleet build driver for Linux machines without pwsh (Debian 12 + .NET SDK, as root).
#   ./build.sh setup   install what is missing (apt packages, NuGet restore) and build
#   ./build.sh build   build the module (out/VirtFleet) and the engine host (out/vfsh)
#   ./build.sh demo    setup, start a 3-host lab fleet and run the main job on it
#   ./build.sh test    setup and run every test (unit, in-process PowerShell, lab); last line "N passed, M failed"
#   ./build.sh bench   setup and run the benchmarks in bench/
# On Windows/macOS (or anywhere with pwsh) use build.ps1 for build and unit tests.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

APT_PACKAGES=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  openssh-server openssh-client dnsmasq-base iptables iproute2 bridge-utils busybox-static linux-image-amd64
  genisoimage cpio kmod procps psmisc util-linux ovmf ansible python3-libvirt python3-lxml hyperfine
  libarchive-tools python3-yaml cloud-init time libxml2-utils python3-matplotlib)

setup_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "==> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The lab runs its own libvirtd/sshd per host; the machine-wide ones are not needed.
  command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1 &&
    systemctl disable --now libvirtd.service libvirtd.socket ssh.service >/dev/null 2>&1 || true
}

build() {
  echo "==> dotnet build"
  # ReadyToRun: the module's dependencies and the engine precompiled, so a cold vfsh starts in a quarter of the
  # time and its first connection JITs less.
  dotnet build src/VirtFleet.Cmdlets -c Release -nologo -v q -clp:ErrorsOnly -p:ModuleReadyToRun=linux-x64
  dotnet publish src/VirtFleet.Shell -c Release -nologo -v q -clp:ErrorsOnly -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o out/vfsh
}

vfsh() { "$ROOT/out/vfsh/vfsh" "$@"; }

run_tests() {
  local results="$ROOT/out/test-results"
  rm -rf "$results"; mkdir -p "$results"
  local rc=0
  dotnet build tests/Unit -c Release -nologo -v q -clp:ErrorsOnly -p:ModuleReadyToRun=linux-x64
  dotnet test tests/Unit -c Release --no-build --logger "trx;LogFileName=unit.trx" --results-directory "$results" || rc=1
  if [[ -d tests/Lab && -f tests/Lab/VirtFleet.LabTests.csproj ]]; then
    dotnet build tests/Lab -c Release -nologo -v q -clp:ErrorsOnly -p:ModuleReadyToRun=linux-x64
    dotnet test tests/Lab -c Release --no-build --logger "trx;LogFileName=lab.trx" --results-directory "$results" || rc=1
  fi
  for script in tests/Lab/*.sh; do
    [[ -f $script ]] || continue
    echo "==> $script"
    if bash "$script" >"$results/$(basename "$script").log" 2>&1; then
      echo "passed: $script"; echo "$script" >>"$results/scripts.passed"
    else
      echo "FAILED: $script (log: $results/$(basename "$script").log)"; tail -20 "$results/$(basename "$script").log"
      echo "$script" >>"$results/scripts.failed"; rc=1
    fi
  done
  python3 - "$results" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]; p = f = s = 0
for t in glob.glob(os.path.join(d, "*.trx")):
    c = ET.parse(t).getroot().find(".//{*}Counters")
    if c is not None:
        p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0))
        s += int(c.get("notExecuted", 0))
for name, add in (("scripts.passed", 1), ("scripts.failed", 0)):
    path = os.path.join(d, name)
    if os.path.exists(path):
        n = len(open(path).read().split())
        if add: p += n
        else: f += n
print(f"{p} passed, {f} failed, {s} skipped")
PY
  return $rc
}

demo() {
  vfsh -File "$ROOT/playbooks/demo.ps1"
}

case "${1:-}" in
  setup) setup_packages; build ;;
  build) build ;;
  demo)  setup_packages; build; demo ;;
  test)  setup_packages; build; run_tests ;;
  bench) setup_packages; build; bash bench/run.sh "${@:2}" ;;
  *) sed -n '2,9p' "$0"; exit 64 ;;
esac
