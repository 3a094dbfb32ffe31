# bench/warm.ps1 - the "warm" half of workload T1, run by bench/run.sh inside ONE vfsh session:
#   vfsh -File bench/warm.ps1 <inventory> <Get-VfInstance|Test-VfHost> <calls>
# Call 0 warms the session (module load, JIT, new SSH connections + the long-lived remote shell);
# calls 1..N reuse the pooled connections. Prints one CSV line per call: call,seconds,objects,seen.
# "seen" = distinct bench-vfh<i>-<n> domains in the result (for Test-VfHost: sum of Instances).
param(
    [Parameter(Mandatory)] [string] $Inventory,
    [Parameter(Mandatory)] [string] $Command,
    [Parameter(Mandatory)] [int] $Calls
)
$ErrorActionPreference = 'Stop'

$list = switch ($Command) {
    'Get-VfInstance' { { Get-VfInstance -All -Inventory $Inventory -ErrorAction Stop } }
    'Test-VfHost'    { { Test-VfHost -Inventory $Inventory -ErrorAction Stop } }
    default          { throw "unknown command '$Command'" }
}

function Seen($objects) {
    if ($Command -eq 'Test-VfHost') {
        $n = 0
        foreach ($o in $objects) { $n += [int]$o.Instances }
        return $n
    }
    $names = [Collections.Generic.HashSet[string]]::new()
    foreach ($o in $objects) { if ($o.Name -match '^bench-vfh\d+-\d+$') { [void]$names.Add($o.Name) } }
    return $names.Count
}

'call,seconds,objects,seen'
for ($i = 0; $i -le $Calls; $i++) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $result = @(& $list)
    $sw.Stop()
    '{0},{1},{2},{3}' -f $i, $sw.Elapsed.TotalSeconds.ToString('0.000000', [Globalization.CultureInfo]::InvariantCulture), $result.Count, (Seen $result)
}
