# VirtFleet first boot (run once by cloudbase-init as LocalSystem, PowerShell 2.0 and later).
# Gives the built-in administrator (the account whose SID ends in -500, whatever its name) a new random password,
# enables it, and writes the password to the serial console encrypted to the instance's RSA key pair
# (OAEP with SHA-1, base64), between <Password user="NAME"> and </Password>. Only the holder of the private key
# can read it: Get-VfPassword decrypts it on the admin's machine; the host only ever sees the ciphertext.
# Set before this text by VirtFleet: $VfRsaKey (the public key as .NET's RSAKeyValue XML). Optional: $VfConsole
# (a COM port, default COM1, or a file path), Set-VfAdminPassword and Get-VfAdminName (defined by a caller to
# stand in for the account calls, as the project's tests do).
$ErrorActionPreference = 'Stop'
if (-not (Test-Path variable:VfConsole) -or -not $VfConsole) { $VfConsole = 'COM1' }

if (-not (Get-Command Get-VfAdminName -ErrorAction SilentlyContinue)) {
    function Get-VfAdminName {
        $account = Get-WmiObject Win32_UserAccount -Filter "LocalAccount=True" | Where-Object { $_.SID -match '^S-1-5-21-.*-500$' } | Select-Object -First 1
        if (-not $account) { throw 'VirtFleet: no built-in administrator account (SID -500) found' }
        $account.Name
    }
}
if (-not (Get-Command Set-VfAdminPassword -ErrorAction SilentlyContinue)) {
    function Set-VfAdminPassword([string]$Name, [string]$Password) {
        $user = [ADSI]"WinNT://./$Name,user"
        $user.SetPassword($Password)
        $user.UserFlags.Value = $user.UserFlags.Value -band (-bnot 2)   # ADS_UF_ACCOUNTDISABLE off
        $user.SetInfo()
    }
}

$VfRandom = New-Object System.Security.Cryptography.RNGCryptoServiceProvider
function Get-VfRandom([int]$Below) {
    # Uniform in 0..Below-1: draws that fall in the last, partial run of Below values are drawn again.
    $b = New-Object byte[] 4
    $limit = [uint32]::MaxValue - ([uint32]::MaxValue % [uint32]$Below)
    do { $VfRandom.GetBytes($b); $n = [BitConverter]::ToUInt32($b, 0) } while ($n -ge $limit)
    [int]($n % [uint32]$Below)
}

function New-VfPassword {
    # 20 characters, at least one of each class Windows' complexity rule counts; no look-alikes (0 O 1 l I).
    $classes = 'ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-.:=?@_'
    $all = -join $classes
    $chars = New-Object System.Collections.ArrayList
    foreach ($c in $classes) { [void]$chars.Add($c[(Get-VfRandom $c.Length)]) }
    while ($chars.Count -lt 20) { [void]$chars.Add($all[(Get-VfRandom $all.Length)]) }
    for ($i = $chars.Count - 1; $i -gt 0; $i--) {   # Fisher-Yates, so the classes' order gives nothing away
        $j = Get-VfRandom ($i + 1)
        $t = $chars[$i]; $chars[$i] = $chars[$j]; $chars[$j] = $t
    }
    -join $chars
}

function Write-VfConsole([string[]]$Lines) {
    if ($VfConsole -match '^COM[0-9]+$') {
        $port = New-Object System.IO.Ports.SerialPort $VfConsole, 115200
        $port.NewLine = "`r`n"
        $port.Open()
        try { foreach ($l in $Lines) { $port.WriteLine($l) } } finally { $port.Close() }
    } else {
        [IO.File]::AppendAllText($VfConsole, (($Lines -join "`n") + "`n"))
    }
}

$name = Get-VfAdminName
$password = New-VfPassword
Set-VfAdminPassword $name $password
$rsa = New-Object System.Security.Cryptography.RSACryptoServiceProvider
$rsa.FromXmlString($VfRsaKey)
$cipher = [Convert]::ToBase64String($rsa.Encrypt([Text.Encoding]::UTF8.GetBytes($password), $true))
$password = $null
Write-VfConsole @("<Password user=""$name"">", $cipher, '</Password>')
