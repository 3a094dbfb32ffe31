#requires -Version 7.6
<#
.SYNOPSIS
    Runs the Pester specs (tests/Pester/*.Tests.ps1) with Pester 6 and writes an NUnit 3 result file.
.DESCRIPTION
    ./build.sh test and ./build.ps1 -Task Test run this in pwsh after the xunit tests. The specs import the
    module from out/VirtFleet, so build first. The lab specs need Linux and root (and the lab lock when other
    people use the same machine); elsewhere they skip themselves.
    Exit code 0 when every spec passed; 1 when a spec, a BeforeAll/AfterAll block or the discovery of a file
    failed.
.PARAMETER Path
    Spec files or folders to run. Default: tests/Pester.
.PARAMETER ResultPath
    Where the NUnit 3 XML result file goes. Default: out/test-results/pester.xml.
.PARAMETER PesterModule
    Pester's module folder or manifest, for a Pester that is not on PSModulePath (./build.sh setup installs
    Pester 6.2.0 to out/tools/modules/Pester). Default: Pester from PSModulePath.
.PARAMETER Tag
    Run only the specs with one of these tags.
.PARAMETER ExcludeTag
    Skip the specs with one of these tags.
.EXAMPLE
    pwsh -NoProfile -File tests/Invoke-PesterSuite.ps1 -PesterModule out/tools/modules/Pester

    Runs every spec with the Pester that ./build.sh setup installed and writes out/test-results/pester.xml.
.EXAMPLE
    pwsh -NoProfile -File tests/Invoke-PesterSuite.ps1 -Path tests/Pester/VirtFleet.Module.Tests.ps1

    Runs one spec file with Pester 6 from PSModulePath.
#>
[CmdletBinding()]
param(
    [string[]] $Path = @(Join-Path -Path $PSScriptRoot -ChildPath 'Pester'),
    [string] $ResultPath = (Join-Path -Path $PSScriptRoot -ChildPath '../out/test-results/pester.xml'),
    [string] $PesterModule = 'Pester',
    [string[]] $Tag = @(),
    [string[]] $ExcludeTag = @()
)
$ErrorActionPreference = 'Stop'

# A relative folder is a path, not a module name.
if (Test-Path -Path $PesterModule) { $PesterModule = (Resolve-Path -Path $PesterModule).ProviderPath }
Import-Module -Name $PesterModule -MinimumVersion 6.0.0 -MaximumVersion 6.999.999
$pester = Get-Module -Name Pester
Write-Information -MessageData "Pester $($pester.Version) from $($pester.ModuleBase), pwsh $($PSVersionTable.PSVersion)" -InformationAction Continue

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Run.Exit = $false
$configuration.Output.Verbosity = 'Detailed'
if ([Console]::IsOutputRedirected) { $configuration.Output.RenderMode = 'Plaintext' }
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnit3'
$configuration.TestResult.OutputPath = [IO.Path]::GetFullPath($ResultPath)
if ($Tag) { $configuration.Filter.Tag = $Tag }
if ($ExcludeTag) { $configuration.Filter.ExcludeTag = $ExcludeTag }
$null = New-Item -ItemType Directory -Path (Split-Path -Path $configuration.TestResult.OutputPath.Value -Parent) -Force

$result = Invoke-Pester -Configuration $configuration
$summary = 'pester: {0} passed, {1} failed, {2} skipped; {3} failed blocks, {4} failed containers' -f $result.PassedCount,
    $result.FailedCount, $result.SkippedCount, $result.FailedBlocksCount, $result.FailedContainersCount
Write-Information -MessageData $summary -InformationAction Continue
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
