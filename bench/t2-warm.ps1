# bench/t2-warm.ps1 - the "vf warm" peer of workload T2: ONE vfsh session that bench/t2.sh drives through
# stdin, so its operations take turns with the other peers' in the same rounds:
#   vfsh -File bench/t2-warm.ps1 <inventory> <count> <name prefix>
# Reads one command per line: "create" runs New-VfInstance -Image vflinux -Count <count> -NamePrefix <prefix>
# -InstanceType t1.micro -NoNetwork -Placement RoundRobin; "remove" runs Remove-VfInstance -Name '<prefix>-*';
# "quit" (or end of input) ends the session. After each operation it prints one line
#   @@T2@@,<op>,<seconds>,<count>,<ok|error: message>   (count: instances created; 0 after a remove)
# timed with [Diagnostics.Stopwatch]. The first create also opens the pooled connections (the caller's round 0
# is an untimed warm-up), later ones reuse them and their long-lived remote shells.
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Inventory,
    [Parameter(Mandatory)] [int] $Count,
    [Parameter(Mandatory)] [string] $Prefix
)
$ErrorActionPreference = 'Stop'
$inv = $Inventory
$ci = [Globalization.CultureInfo]::InvariantCulture
while ($null -ne ($op = [Console]::In.ReadLine())) {
    $op = $op.Trim()
    if ($op -eq 'quit') { break }
    $n = 0
    $status = 'ok'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    try {
        switch ($op) {
            'create' {
                $n = @(New-VfInstance -Image vflinux -Count $Count -NamePrefix $Prefix -InstanceType t1.micro -NoNetwork -Placement RoundRobin -Inventory $inv).Count
            }
            'remove' {
                Remove-VfInstance -Name "$Prefix-*" -Confirm:$false -Inventory $inv
            }
            default { throw "unknown command '$op'" }
        }
    }
    catch { $status = 'error: ' + ($_.ToString() -replace '[\r\n,]+', ' ') }
    $sw.Stop()
    [Console]::Out.WriteLine(('@@T2@@,{0},{1},{2},{3}' -f $op, $sw.Elapsed.TotalSeconds.ToString('0.000000', $ci), $n, $status))
    [Console]::Out.Flush()
}
