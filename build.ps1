#requires -Version 7.6
<#
.SYNOPSIS
    Builds and tests VirtFleet with pwsh on Windows, macOS or Linux.
.DESCRIPTION
    Setup: Pester 6.2.0 into out/tools/modules/Pester (restored from NuGet; nothing installed for the user).
    Build: the importable module in out/VirtFleet and the engine host in out/vfsh.
    Test:  build, the xunit tests (unit, in-process PowerShell), then the Pester specs in tests/Pester with
           Pester 6.2.0 (Setup first; tests/Invoke-PesterSuite.ps1, result in out/test-results/pester.xml).
           The lab specs need Linux and root: use ./build.sh test there.
.PARAMETER Task
    Setup, Build, Test or Clean (removes out/).
.PARAMETER Configuration
    The dotnet build configuration.
.EXAMPLE
    ./build.ps1 -Task Test

    Builds, runs the xunit tests and the Pester specs.
#>
[CmdletBinding()]
param(
    [ValidateSet('Setup', 'Build', 'Test', 'Clean')]
    [string] $Task = 'Build',
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
$pesterVersion = '6.2.0'
$pesterModule = Join-Path -Path $PSScriptRoot -ChildPath 'out/tools/modules/Pester'

function Invoke-Dotnet {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string[]] $ArgumentList)
    & dotnet @ArgumentList
    if ($LASTEXITCODE) { throw "dotnet $($ArgumentList -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    [CmdletBinding()]
    param()
    Invoke-Dotnet -ArgumentList 'build', 'src/VirtFleet.Cmdlets', '-c', $Configuration, '-nologo'
    Invoke-Dotnet -ArgumentList 'publish', 'src/VirtFleet.Shell', '-c', $Configuration, '-nologo', '-o', 'out/vfsh'
}

# Pester from its NuGet package (the module is under tools/), restored by a throw-away project.
function Install-PesterModule {
    [CmdletBinding(SupportsShouldProcess)]
    param()
    $manifest = Join-Path -Path $pesterModule -ChildPath 'Pester.psd1'
    if ((Test-Path -Path $manifest) -and (Import-PowerShellDataFile -Path $manifest).ModuleVersion -eq $pesterVersion) { return }
    if (-not $PSCmdlet.ShouldProcess($pesterModule, "Install Pester $pesterVersion from NuGet")) { return }
    $work = Join-Path -Path ([IO.Path]::GetTempPath()) -ChildPath "vf-pester-$([guid]::NewGuid())"
    $null = New-Item -ItemType Directory -Path $work
    try {
        $project = Join-Path -Path $work -ChildPath 'pester.csproj'
        Set-Content -Path $project -Value @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pesterVersion]" /></ItemGroup>
</Project>
"@
        $packages = Join-Path -Path $work -ChildPath 'packages'
        Invoke-Dotnet -ArgumentList 'restore', $project, '--packages', $packages, '-v', 'q'
        $staged = "$pesterModule.new"
        Remove-Item -Path $staged, $pesterModule -Recurse -Force -ErrorAction SilentlyContinue
        $null = New-Item -ItemType Directory -Path (Split-Path -Path $pesterModule -Parent) -Force
        Copy-Item -Path (Join-Path -Path $packages -ChildPath "pester/$pesterVersion/tools") -Destination $staged -Recurse
        Move-Item -Path $staged -Destination $pesterModule
    }
    finally { Remove-Item -Path $work -Recurse -Force -ErrorAction SilentlyContinue }
}

Push-Location -Path $PSScriptRoot
try {
    switch ($Task) {
        'Clean' { Remove-Item -Path out -Recurse -Force -ErrorAction SilentlyContinue }
        'Setup' { Install-PesterModule }
        'Build' { Invoke-Build }
        'Test' {
            Invoke-Build
            Invoke-Dotnet -ArgumentList 'test', 'tests/Unit', '-c', $Configuration, '-nologo'
            Install-PesterModule
            & ./tests/Invoke-PesterSuite.ps1 -PesterModule $pesterModule
            if ($LASTEXITCODE) { throw 'Pester specs failed (out/test-results/pester.xml)' }
        }
    }
}
finally { Pop-Location }
