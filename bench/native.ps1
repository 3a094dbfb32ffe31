# bench/native.ps1 - T1-style warm listing of ONE lab host through LibvirtNative against `virsh list --all` through the
# same libvirtd socket. Run by bench/native.sh in one pwsh:
#   pwsh -File bench/native.ps1 <VirtFleet.Core.dll> <socket path> <rounds>
# Round 0 warms up both (JIT, library load, connection; virsh's page cache). Each round runs both, in an order that
# alternates. native = NativeLibvirtConnection.ListDomains() on one open connection (names, UUIDs, states, memory,
# vCPUs); virsh = a new `virsh -q -c qemu+unix:///system?socket=<path> list --all` process (connects, lists, exits),
# timed from this process. Prints one CSV line per call: round,path,seconds,domains,bench
param(
    [Parameter(Mandatory)] [string] $CoreDll,
    [Parameter(Mandatory)] [string] $Socket,
    [Parameter(Mandatory)] [int] $Rounds
)
$ErrorActionPreference = 'Stop'
Add-Type -Path $CoreDll
if (-not [VirtFleet.LibvirtNative.NativeLibvirt]::IsAvailable) { throw 'libvirt.so.0 is not available' }
$uri = [VirtFleet.LibvirtNative.LibvirtUri]::ForSocket($Socket)
$conn = [VirtFleet.LibvirtNative.NativeLibvirtConnection]::Open($uri)

function Invoke-Native {
    $d = $conn.ListDomains($false)
    return ,@($d | ForEach-Object { $_.Name })
}
function Invoke-Virsh {
    $psi = [Diagnostics.ProcessStartInfo]::new('virsh', [string[]]@('-q', '-c', $uri, 'list', '--all'))
    $psi.RedirectStandardOutput = $true
    $p = [Diagnostics.Process]::Start($psi)
    $text = $p.StandardOutput.ReadToEnd()
    $p.WaitForExit()
    if ($p.ExitCode -ne 0) { throw "virsh exited $($p.ExitCode)" }
    return ,@($text -split "`n" | Where-Object { $_.Trim() } | ForEach-Object { ($_.Trim() -split '\s+')[1] })
}

'round,path,seconds,domains,bench'
try {
    for ($r = 0; $r -le $Rounds; $r++) {
        $order = if ($r % 2) { 'virsh', 'native' } else { 'native', 'virsh' }
        foreach ($path in $order) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $names = if ($path -eq 'native') { Invoke-Native } else { Invoke-Virsh }
            $sw.Stop()
            $bench = @($names | Where-Object { $_ -match '^bench-vfh\d+-\d+$' }).Count
            '{0},{1},{2:F6},{3},{4}' -f $r, $path, $sw.Elapsed.TotalSeconds, $names.Count, $bench
        }
    }
}
finally { $conn.Dispose() }
