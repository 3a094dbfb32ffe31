#!/usr/bin/env bash
# VirtFleet build driver for Linux (Debian 12 + .NET SDK, as root); needs no pwsh: setup installs its own.
#   ./build.sh setup   install what is missing (apt packages, pwsh 7.6.10 and Pester 6.2.0 into out/tools) and build
#   ./build.sh build   build the module (out/VirtFleet) and the engine host (out/vfsh)
#   ./build.sh demo    setup, then playbooks/demo.ps1 in that pwsh: a 3-host lab fleet and the main job on it
#   ./build.sh test    setup and run every test: xunit (unit, lab), Pester (tests/Pester, in pwsh), lab scripts;
#                      results in out/test-results, last line "N passed, M failed, K skipped"
#   ./build.sh bench   setup and run the benchmarks in bench/
# VF_TOOLS chooses where pwsh and Pester go (default out/tools); NuGet's NUGET_PACKAGES is honoured.
# Nothing is installed globally: no profile, no PATH change. On Windows/macOS use build.ps1.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
PWSH_VERSION=7.6.10    # the PowerShell dotnet tool; pinned: unpinned takes 7.7.0, which does not run here
PESTER_VERSION=6.2.0
TOOLS=$(realpath -m "${VF_TOOLS:-$ROOT/out/tools}")
PWSH=$TOOLS/pwsh
PESTER=$TOOLS/modules/Pester
# Logs and CI output without ANSI colour codes (pwsh and Pester honour NO_COLOR); a terminal keeps its colours.
[[ -t 1 ]] || export NO_COLOR=1

APT_PACKAGES=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
  openssh-server openssh-client dnsmasq-base iptables iproute2 bridge-utils busybox-static linux-image-amd64
  genisoimage cpio kmod procps psmisc util-linux ovmf ansible python3-libvirt python3-lxml hyperfine
  libarchive-tools python3-yaml cloud-init time libxml2-utils python3-matplotlib sudo shellcheck
  syslinux syslinux-common mtools dosfstools fdisk openssl isolinux)

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

# pwsh as a dotnet tool in $TOOLS (not --global: no profile or PATH is touched). A re-run installs nothing.
setup_pwsh() {
  if [[ -x $PWSH ]] && dotnet tool list --tool-path "$TOOLS" 2>/dev/null | grep -Eq "^powershell +$PWSH_VERSION( |$)"; then
    return
  fi
  echo "==> pwsh $PWSH_VERSION -> $TOOLS"
  mkdir -p "$TOOLS"
  dotnet tool uninstall PowerShell --tool-path "$TOOLS" >/dev/null 2>&1 || true
  dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$TOOLS" >/dev/null
}

# Pester from NuGet (the package carries the module under tools/), restored by a throw-away project into a
# private package folder, then moved into place whole: a half-copied module is never left as the real one.
setup_pester() {
  if [[ -f $PESTER/Pester.psd1 ]] && grep -Eq "ModuleVersion *= *'$PESTER_VERSION'" "$PESTER/Pester.psd1"; then
    return
  fi
  echo "==> Pester $PESTER_VERSION -> $PESTER"
  local tmp
  tmp=$(mktemp -d)
  cat >"$tmp/pester.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PESTER_VERSION]" /></ItemGroup>
</Project>
EOF
  if ! dotnet restore "$tmp/pester.csproj" --packages "$tmp/packages" -v q >"$tmp/restore.log" 2>&1 ||
     [[ ! -f $tmp/packages/pester/$PESTER_VERSION/tools/Pester.psd1 ]]; then
    cat "$tmp/restore.log" >&2
    rm -rf "$tmp"
    echo "Pester $PESTER_VERSION: restore failed" >&2
    return 1
  fi
  mkdir -p "$(dirname "$PESTER")"
  rm -rf "$PESTER.new" "$PESTER"
  cp -r "$tmp/packages/pester/$PESTER_VERSION/tools" "$PESTER.new"
  mv "$PESTER.new" "$PESTER"
  rm -rf "$tmp"
}

setup_tools() { setup_pwsh; setup_pester; }

build() {
  echo "==> dotnet build"
  # ReadyToRun: the module's dependencies and the engine precompiled, so a cold vfsh starts in a quarter of the
  # time and its first connection JITs less.
  dotnet build src/VirtFleet.Cmdlets -c Release -nologo -v q -clp:ErrorsOnly -p:ModuleReadyToRun=linux-x64
  dotnet publish src/VirtFleet.Shell -c Release -nologo -v q -clp:ErrorsOnly -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o out/vfsh
}

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
  echo "==> Pester $PESTER_VERSION in pwsh $PWSH_VERSION: tests/Pester"
  local prc=0
  "$PWSH" -NoProfile -NonInteractive -File tests/Invoke-PesterSuite.ps1 -PesterModule "$PESTER" \
    -ResultPath "$results/pester.xml" </dev/null || prc=$?
  echo "$prc" >"$results/pester.rc"
  ((prc == 0)) || rc=1
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
pester = os.path.join(d, "pester.xml")
run = ET.parse(pester).getroot() if os.path.exists(pester) else None
if run is not None:
    p += int(run.get("passed", 0)); f += int(run.get("failed", 0))
    s += int(run.get("skipped", 0)) + int(run.get("inconclusive", 0))
# A Pester run that failed with no failed spec to show for it (no result file, a broken AfterAll) counts once.
rc_path = os.path.join(d, "pester.rc")
if os.path.exists(rc_path) and open(rc_path).read().strip() != "0" and (run is None or int(run.get("failed", 0)) == 0):
    f += 1
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

# The demo in real pwsh, as an admin runs it; the script imports the module from out/VirtFleet.
demo() {
  "$PWSH" -NoProfile -NonInteractive -File "$ROOT/playbooks/demo.ps1" </dev/null
}

case "${1:-}" in
  setup) setup_packages; setup_tools; build ;;
  build) build ;;
  demo)  setup_packages; setup_tools; build; demo ;;
  test)  setup_packages; setup_tools; build; run_tests ;;
  bench) setup_packages; build; bash bench/run.sh "${@:2}" ;;
  *) sed -n '2,10p' "$0"; exit 64 ;;
esac
