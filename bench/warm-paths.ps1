# bench/warm-paths.ps1 - T1 warm through the native libvirt path against the virsh path, in ONE vfsh session, run by
# bench/list.sh with run.sh --libvirt-paths:   vfsh -File bench/warm-paths.ps1 <inventory> <calls>
# $env:VF_LIBVIRT chooses the path of every host per call (virsh: the long-lived interactive virsh over SSH; native:
# libvirt.so through virt-ssh-helper on a channel of the same SSH connection). Warm-up: both paths until every host's
# native path is up (Get-VfConnection), then <calls> rounds, each a virsh call and a native call (alternating order).
# Prints call,path,seconds,objects,seen,errors ("seen" = distinct bench-vfh<i>-<n> domains).
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Inventory,
    [Parameter(Mandatory)] [int] $Calls
)
$ErrorActionPreference = 'Stop'

function Invoke-Listing([string] $Path) {
    $env:VF_LIBVIRT = $Path
    $callErrors = [Collections.ArrayList]::new()
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $result = @(Get-VfInstance -All -Inventory $Inventory -ErrorAction SilentlyContinue -ErrorVariable +callErrors)
    $sw.Stop()
    $names = [Collections.Generic.HashSet[string]]::new()
    foreach ($o in $result) { if ($o.Name -match '^bench-vfh\d+-\d+$') { [void]$names.Add($o.Name) } }
    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; Objects = $result.Count; Seen = $names.Count; Errors = $callErrors.Count }
}

$hosts = 0
for ($i = 0; $i -lt 30; $i++) {
    [void](Invoke-Listing virsh)
    [void](Invoke-Listing native)
    $conns = @(Get-VfConnection)
    $hosts = $conns.Count
    if ($hosts -gt 0 -and @($conns | Where-Object Libvirt -ne 'native').Count -eq 0) { break }
    Start-Sleep -Milliseconds 200
}
$notNative = @(Get-VfConnection | Where-Object Libvirt -ne 'native')
foreach ($c in $notNative) { [Console]::Error.WriteLine("$($c.Host) stays on $($c.Libvirt): $($c.LibvirtNote)") }

'call,path,seconds,objects,seen,errors'
for ($i = 1; $i -le $Calls; $i++) {
    $order = if ($i % 2) { 'virsh', 'native' } else { 'native', 'virsh' }
    foreach ($p in $order) {
        $r = Invoke-Listing $p
        '{0},{1},{2},{3},{4},{5}' -f $i, $p, $r.Seconds.ToString('0.000000', [Globalization.CultureInfo]::InvariantCulture), $r.Objects, $r.Seen, $r.Errors
    }
}
