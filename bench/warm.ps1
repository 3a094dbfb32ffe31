# bench/warm.ps1 - the "warm" half of workloads T1/T3, run by bench/list.sh inside ONE vfsh session:
#   vfsh -File bench/warm.ps1 <inventory> <Get-VfInstance|Test-VfHost> <calls>
# Call 0 warms the session (module load, JIT, new SSH connections + the long-lived remote shell);
# calls 1..N reuse the pooled connections. Prints one CSV line per call: call,seconds,objects,seen,errors
# ("seen" = distinct bench-vfh<i>-<n> domains in the result, for Test-VfHost the sum of Instances;
# "errors" = error records the call wrote, e.g. hosts that did not answer: such a call is not a clean one).
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Inventory,
    [Parameter(Mandatory)] [string] $Command,
    [Parameter(Mandatory)] [int] $Calls
)
$ErrorActionPreference = 'Stop'

$list = switch ($Command) {
    'Get-VfInstance' { { Get-VfInstance -All -Inventory $Inventory -ErrorAction SilentlyContinue -ErrorVariable callErrors } }
    'Test-VfHost'    { { Test-VfHost -Inventory $Inventory -ErrorAction SilentlyContinue -ErrorVariable callErrors } }
    default          { throw "unknown command '$Command'" }
}

# The bench domains a call saw: distinct bench-vfh<i>-<n> names, or for Test-VfHost the hosts' instance counts.
function Get-SeenCount {
    [CmdletBinding()]
    [OutputType([int])]
    param([object[]] $InputObject)
    if ($Command -eq 'Test-VfHost') {
        $n = 0
        foreach ($o in $InputObject) { $n += [int]$o.Instances }
        return $n
    }
    $names = [Collections.Generic.HashSet[string]]::new()
    foreach ($o in $InputObject) { if ($o.Name -match '^bench-vfh\d+-\d+$') { [void]$names.Add($o.Name) } }
    return $names.Count
}

'call,seconds,objects,seen,errors'
for ($i = 0; $i -le $Calls; $i++) {
    $callErrors = [Collections.ArrayList]::new()
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $result = @(. $list)
    $sw.Stop()
    for ($k = 0; $k -lt [Math]::Min(3, $callErrors.Count); $k++) { [Console]::Error.WriteLine("call ${i}: $($callErrors[$k])") }
    '{0},{1},{2},{3},{4}' -f $i, $sw.Elapsed.TotalSeconds.ToString('0.000000', [Globalization.CultureInfo]::InvariantCulture), $result.Count, (Get-SeenCount -InputObject $result), $callErrors.Count
}
