#requires -Version 7.4
<#
.SYNOPSIS
    Builds and tests VirtFleet with pwsh on Windows, macOS or Linux.
.DESCRIPTION
    Build: the importable module in out/VirtFleet and the engine host in out/vfsh.
    Test:  build, unit tests (xunit, in-process PowerShell), and the Pester specs when Pester 5 is installed.
    The lab tests need Linux and root: use ./build.sh test there.
.EXAMPLE
    ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Clean')]
    [string] $Task = 'Build',
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Push-Location $PSScriptRoot
try {
    function Invoke-Dotnet {
        & dotnet @args
        if ($LASTEXITCODE) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
    }
    function Invoke-Build {
        Invoke-Dotnet build src/VirtFleet.Cmdlets -c $Configuration -nologo
        Invoke-Dotnet publish src/VirtFleet.Shell -c $Configuration -nologo -o out/vfsh
    }
    switch ($Task) {
        'Clean' { Remove-Item -Recurse -Force out -ErrorAction SilentlyContinue }
        'Build' { Invoke-Build }
        'Test' {
            Invoke-Build
            Invoke-Dotnet test tests/Unit -c $Configuration -nologo
            if (Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0') {
                $result = Invoke-Pester -Path tests/Pester -PassThru -Output Detailed
                if ($result.FailedCount) { throw "$($result.FailedCount) Pester tests failed" }
            }
            else { Write-Warning 'Pester 5 is not installed; skipping tests/Pester.' }
        }
    }
}
finally { Pop-Location }
